/* ISC license. */

 /* libFuzzer target for the SASL exchange (RFC 5034 AUTH over libgsasl and
    the native OAuth mechanisms): sasl_login against a scripted server.
    The input is one byte of choices (how the server's bytes are cut into
    reads), one byte choosing the mechanism, then what the server says
    after AUTH. The harness's fixed getrandom makes the client's SCRAM
    nonce known, so the seeds hold whole SCRAM and DIGEST-MD5 exchanges
    with valid server proofs. Properties:
    - a success needs a final +OK from the server; a failure has a
      sysexits code and a message, and the message and the server message
      shown to the user have no control characters;
    - every line the client sends is one well-formed command: "AUTH MECH"
      with an initial response only if the line fits in 255 octets, then
      base64 lines, "=" or "*"; nothing after "*" but the reply to it;
    - with SCRAM, CRAM-MD5, DIGEST-MD5 and NTLM no challenge makes the
      client send the password (decoded or not);
    - base64 encoding then decoding gives back the bytes. */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <sys/types.h>

#include <skalibs/stralloc.h>

#include <mpop/account.h>
#include <mpop/auth.h>
#include <mpop/pop3.h>
#include <mpop/settings.h>

#include "harness.h"

#define USER "joe"
#define PASSWORD "pa55-w0rd"

static char const *const mechs[] =
{
  "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN", "EXTERNAL", "OAUTHBEARER",
  "CRAM-MD5", "DIGEST-MD5", "LOGIN", "NTLM", "XOAUTH2"
} ;
#define NMECHS (sizeof(mechs) / sizeof(mechs[0]))

static int keeps_password (char const *mech)
{
  return !strncmp(mech, "SCRAM-", 6) || !strcmp(mech, "CRAM-MD5") || !strcmp(mech, "DIGEST-MD5") || !strcmp(mech, "NTLM") ;
}

static account a = { 0 } ;

int LLVMFuzzerInitialize (int *argc, char ***argv)
{
  (void)argc ; (void)argv ;
  if (account_set(&a, S_HOST, "pop.example.org", NORM_ENV) || account_set(&a, S_PORT, "110", NORM_ENV)
   || account_set(&a, S_TIMEOUT, "180", NORM_ENV) || account_set(&a, S_NTLMDOMAIN, "WORKGROUP", NORM_ENV))
    abort() ;
  return 0 ;
}

static int is_code (int r)
{
  return r >= EX__BASE && r <= EX__MAX ;
}

static void check_text (stralloc const *sa, char const *what)
{
  for (size_t i = 0 ; i < sa->len ; i++)
    FUZZ_ASSERT((unsigned char)sa->s[i] >= 32 && sa->s[i] != 127, what) ;
}

static int is_b64 (char const *s, size_t len)
{
  for (size_t i = 0 ; i < len ; i++)
    if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '+' || s[i] == '/' || s[i] == '=')) return 0 ;
  return 1 ;
}

 /* What the client sent, line by line */
static void check_sent (char const *mech)
{
  size_t pos = 0, alen = 5 + strlen(mech) ;
  int cancelled = 0 ;
  fuzz_check_sent() ;
  while (pos < fuzz_sent.len)
  {
    char const *s = fuzz_sent.s + pos ;
    size_t len = (char const *)memchr(s, '\n', fuzz_sent.len - pos) - s - 1 ;
    FUZZ_ASSERT(!cancelled, "the client went on after cancelling") ;
    pos += len + 2 ;
    if (s == fuzz_sent.s)
    {
      FUZZ_ASSERT(len >= alen && !memcmp(s, "AUTH ", 5) && !memcmp(s + 5, mech, alen - 5), "the first line is not AUTH MECH") ;
      if (len == alen) continue ;
      FUZZ_ASSERT(s[alen] == ' ' && len + 2 <= 255, "an initial response on an AUTH line longer than 255 octets") ;
      s += alen + 1 ;
      len -= alen + 1 ;
      if (len == 1 && s[0] == '=') continue ;
    }
    else if (len == 1 && s[0] == '*') { cancelled = 1 ; continue ; }
    FUZZ_ASSERT(is_b64(s, len), "the client sent something else than base64") ;
    if (keeps_password(mech))
    {
      stralloc dec = STRALLOC_ZERO ;
      FUZZ_ASSERT(base64_decode(&dec, s, len), "the client sent invalid base64") ;
      FUZZ_ASSERT(!fuzz_contains(&dec, PASSWORD), "the password went out") ;
      secret_free(&dec) ;
    }
  }
  FUZZ_ASSERT(!fuzz_contains(&fuzz_sent, PASSWORD) || !keeps_password(mech), "the password went out") ;
}

static void check_base64 (char const *s, size_t len)
{
  stralloc enc = STRALLOC_ZERO, dec = STRALLOC_ZERO ;
  if (!base64_encode(&enc, s, len)) abort() ;
  FUZZ_ASSERT(enc.len == (len + 2) / 3 * 4 && is_b64(enc.s, enc.len), "base64_encode output") ;
  FUZZ_ASSERT(base64_decode(&dec, enc.s, enc.len) && dec.len == len && (!len || !memcmp(dec.s, s, len)), "base64 round trip") ;
  dec.len = 0 ;
  if (base64_decode(&dec, s, len)) FUZZ_ASSERT(is_b64(s, len) && dec.len <= len / 4 * 3 + 2, "base64_decode accepted non-base64") ;
  secret_free(&enc) ;
  secret_free(&dec) ;
}

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  pop3 p ;
  fuzz_rng rng ;
  char const *mech ;
  int r ;
  if (size < 2) return 0 ;
  mech = mechs[data[1] % NMECHS] ;
  fuzz_random_reset() ;
  fuzz_rng_init(&rng, data, 1) ;
  fuzz_server((char const *)data + 2, size - 2, &rng) ;
  fuzz_pop3_begin(&p, &a) ;
  r = sasl_login(&p, mech, USER, PASSWORD) ;
  if (!r) FUZZ_ASSERT(p.line.len >= 3 && !memcmp(p.line.s, "+OK", 3), "authenticated without +OK") ;
  else
  {
    FUZZ_ASSERT(is_code(r) && p.code == r && p.msg.len, "failure without a code and a message") ;
    check_text(&p.msg, "error message with a control character") ;
    check_text(&p.srvmsg, "server message with a control character") ;
  }
  check_sent(mech) ;
  check_base64((char const *)data + 2, size - 2) ;
  fuzz_pop3_end(&p) ;
  return 0 ;
}
