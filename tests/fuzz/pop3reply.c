/* ISC license. */

 /* libFuzzer target for the POP3 client's reply handling: greeting and
    APOP timestamp, CAPA, status lines and response codes, the login
    methods and their choice, STLS, multi-line replies, QUIT. The input is
    three bytes of choices (how the server's bytes are cut into reads, auth
    setting, pipelining, STLS, TLS already on, login through auth_login
    with the real SASL code or through pop3_login with a stand-in SASL
    hook) then everything the server says; pop3_open runs on UCSPI
    descriptors and reads through the harness's scripted connection.
    Properties:
    - every failure has a sysexits code and a message; the message and the
      server message shown to the user have no control characters;
    - the SASL list is upper-case words separated by single spaces; the
      APOP timestamp is "<...@...>" of printable characters without
      blanks, and only then is APOP offered;
    - with tls_starttls, the session never goes on in clear text (the TLS
      handshake cannot succeed here);
    - the password is never sent in clear text when the method was chosen
      automatically without TLS, and never with APOP;
    - every line the client sends is one well-formed command;
    - multi-line reply lines are bounded, unstuffed, without line ends. */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <skalibs/stralloc.h>

#include <mpop/account.h>
#include <mpop/auth.h>
#include <mpop/pop3.h>
#include <mpop/settings.h>

#include "harness.h"

#define PASSWORD "pa55-w0rd"

static char const *const auths[8] = { "on", "user", "apop", "plain", "scram-sha-1", "external", "cram-md5", "xoauth2" } ;
static char const *const pipelinings[4] = { "auto", "on", "off", "auto" } ;
static account accounts[8][4][2] ;

static void set (account *a, unsigned int i, char const *v)
{
  if (account_set(a, i, v, NORM_ENV) != SE_OK) abort() ;
}

int LLVMFuzzerInitialize (int *argc, char ***argv)
{
  (void)argc ; (void)argv ;
  for (unsigned int i = 0 ; i < 8 ; i++)
    for (unsigned int j = 0 ; j < 4 ; j++)
      for (unsigned int k = 0 ; k < 2 ; k++)
      {
        account *a = &accounts[i][j][k] ;
        set(a, S_HOST, "pop.example.org") ;
        set(a, S_PORT, "110") ;
        set(a, S_TIMEOUT, "180") ;
        set(a, S_AUTH, auths[i]) ;
        set(a, S_PIPELINING, pipelinings[j]) ;
        set(a, S_TLS, k ? "on" : "off") ;
        set(a, S_TLS_STARTTLS, "on") ;
        set(a, S_TLS_CERTCHECK, "off") ;
        set(a, S_USER, "joe") ;
        set(a, S_PASSWORD, PASSWORD) ;
      }
  return 0 ;
}

static int is_code (int r)
{
  return r >= EX__BASE && r <= EX__MAX ;
}

static void check_text (stralloc const *sa, char const *what)
{
  if (!sa->len) return ;
  FUZZ_ASSERT(!sa->s[sa->len], what) ;
  for (size_t i = 0 ; i < sa->len ; i++)
    FUZZ_ASSERT((unsigned char)sa->s[i] >= 32 && sa->s[i] != 127, what) ;
}

static void check_error (pop3 const *p, int r)
{
  FUZZ_ASSERT(is_code(r) && p->code == r, "failure without a sysexits code") ;
  FUZZ_ASSERT(p->msg.len, "failure without a message") ;
  check_text(&p->msg, "error message with a control character") ;
  check_text(&p->srvmsg, "server message with a control character") ;
}

static void check_session (pop3 const *p)
{
  check_text(&p->greeting, "greeting with a control character") ;
  check_text(&p->implementation, "IMPLEMENTATION with a control character") ;
  check_text(&p->sasl, "SASL list with a control character") ;
  for (size_t i = 0 ; i < p->sasl.len ; i++)
  {
    char c = p->sasl.s[i] ;
    FUZZ_ASSERT(!(c >= 'a' && c <= 'z') && c != '\t', "SASL list not upper case words") ;
    FUZZ_ASSERT(c != ' ' || (i && i + 1 < p->sasl.len && p->sasl.s[i + 1] != ' '), "SASL list with an empty word") ;
  }
  FUZZ_ASSERT(!(p->caps & POP3_CAP_APOP) == !p->timestamp.len, "APOP offered without a timestamp, or the reverse") ;
  if (p->timestamp.len)
  {
    char const *t = p->timestamp.s ;
    size_t n = p->timestamp.len ;
    FUZZ_ASSERT(n >= 3 && t[0] == '<' && t[n - 1] == '>' && memchr(t, '@', n), "APOP timestamp not <...@...>") ;
    for (size_t i = 1 ; i + 1 < n ; i++)
      FUZZ_ASSERT(t[i] > ' ' && t[i] < 127 && t[i] != '<' && t[i] != '>', "APOP timestamp with a blank, a control character or an angle bracket") ;
  }
}

 /* A SASL stand-in: AUTH MECH, one status line */
static int sasl_stub (pop3 *p, char const *mech, char const *user, char const *password)
{
  int r ;
  (void)user ; (void)password ;
  r = pop3_command(p, "AUTH", mech) ;
  if (r < 0) return p->code ;
  return r ? 0 : pop3_fail(p, pop3_errcode(p, EX_NOPERM), "authentication failed") ;
}

 /* No line sent, nor the base64 text at its end, holds the password */
static void check_no_password (void)
{
  stralloc dec = STRALLOC_ZERO ;
  size_t pos = 0 ;
  FUZZ_ASSERT(!fuzz_contains(&fuzz_sent, PASSWORD), "password sent in clear text") ;
  while (pos < fuzz_sent.len)
  {
    char const *s = fuzz_sent.s + pos ;
    char const *nl = memchr(s, '\n', fuzz_sent.len - pos) ;
    size_t len = nl ? (size_t)(nl - s) : fuzz_sent.len - pos, start = len ;
    while (start && s[start - 1] != ' ') start-- ;
    if (len > start && s[len - 1] == '\r') len-- ;
    dec.len = 0 ;
    if (base64_decode(&dec, s + start, len - start)) FUZZ_ASSERT(!fuzz_contains(&dec, PASSWORD), "password sent in base64 without TLS") ;
    pos += (nl ? (size_t)(nl - s) + 1 : fuzz_sent.len - pos) ;
  }
  secret_free(&dec) ;
}

static int multiline (pop3 *p, char const *cmd)
{
  stralloc line = STRALLOC_ZERO ;
  int r = pop3_command(p, cmd, 0) ;
  if (r < 0) return p->code ;
  if (!r)
  {
    int e = pop3_errcode(p, EX_PROTOCOL) ;
    FUZZ_ASSERT(e == EX_PROTOCOL || e == EX_NOPERM || e == EX_UNAVAILABLE || e == EX_TEMPFAIL, "unexpected code for a response code") ;
    check_text(&p->srvmsg, "server message with a control character") ;
    return 0 ;
  }
  while ((r = pop3_getline(p, &line)) > 0)
  {
    FUZZ_ASSERT(line.len < POP3_LINE_MAX, "multi-line reply line too long") ;
    FUZZ_ASSERT(!memchr(line.s, '\n', line.len), "multi-line reply line with a LF") ;
    FUZZ_ASSERT(!line.s[line.len], "multi-line reply line not terminated") ;
  }
  stralloc_free(&line) ;
  return r < 0 ? p->code : 0 ;
}

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  pop3 p ;
  fuzz_rng rng ;
  account *a ;
  unsigned int flags = 0, f1, f2 ;
  int starttls, r ;
  if (size < 3) return 0 ;
  f1 = data[1] ; f2 = data[2] ;
  a = &accounts[f1 & 7][(f1 >> 3) & 3][(f1 >> 5) & 1] ;
  starttls = (f1 >> 5) & 1 ;
  if (f1 & 0x40) flags |= POP3_SECURED ;
  fuzz_rng_init(&rng, data, 1) ;
  fuzz_random_reset() ;
  fuzz_server((char const *)data + 3, size - 3, &rng) ;
  fuzz_ucspi() ;
  fuzz_pop3_begin(&p, a) ;
  if (f2 & 8) p.sasl_hook = &sasl_stub ;
  r = pop3_open(&p, a, POP3_UCSPI | flags) ;
  if (starttls && !(flags & POP3_SECURED)) FUZZ_ASSERT(r, "STLS session went on without TLS") ;
  if (!r)
  {
    check_session(&p) ;
    r = f2 & 1 ? auth_login(&p) : pop3_login(&p, "joe", PASSWORD) ;
    if (!r) r = pop3_capa_after_login(&p, f2 & 2) ;
    if (!r) check_session(&p) ;
  }
  if (!strcmp(a->v[S_AUTH], "apop") || (!strcmp(a->v[S_AUTH], "on") && !p.secured)) check_no_password() ;
  if (!r) r = multiline(&p, f2 & 4 ? "UIDL" : "LIST") ;
  if (!r) r = multiline(&p, "TOP 1 0") ;
  if (!r) r = pop3_quit(&p) ;
  if (r) check_error(&p, r) ;
  fuzz_check_sent() ;
  fuzz_pop3_end(&p) ;
  return 0 ;
}
