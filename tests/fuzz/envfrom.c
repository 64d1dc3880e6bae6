/* ISC license. */

 /* libFuzzer target for the envelope sender extraction and the %F/%S
    substitution. The input is one byte of choices (where to cut) then a
    message in LF form. Properties:
    - envfrom_feed in pieces (then envfrom_finish) and envfrom_get on the
      whole message agree, and agree with a model: the first physical
      header line starting with Return-Path: or Sender: (any case, cut at
      ENVFROM_LINEMAX bytes) whose value gives an address, before the
      first empty line; else MAILER-DAEMON;
    - the sender is never empty and only has A-Z a-z 0-9 . @ _ + / -;
    - envfrom_given gives the same kind of result for any string;
    - envfrom_subst inserts, for %F, such a sender that does not start
      with '-' and, for %S, digits only; the rest of the command is kept. */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <skalibs/stralloc.h>

#include <mpop/envfrom.h>

#include "harness.h"

static int safe (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || (c && strchr(".@_+/-", c)) ;
}

static void check_sender (char const *s)
{
  FUZZ_ASSERT(*s, "empty sender") ;
  for (; *s ; s++) FUZZ_ASSERT(safe(*s), "sender with an unsafe character") ;
}

 /* The model: whole lines, in order */
static void model (stralloc *sa, char const *s, size_t len)
{
  static char const *const names[2] = { "return-path:", "sender:" } ;
  while (len)
  {
    char const *nl = memchr(s, '\n', len) ;
    size_t n = nl ? (size_t)(nl - s) : len ;
    size_t cut = n < ENVFROM_LINEMAX ? n : ENVFROM_LINEMAX ;
    if (!n && nl) break ;
    for (unsigned int i = 0 ; i < 2 ; i++)
    {
      size_t k = strlen(names[i]) ;
      if (cut >= k && !strncasecmp(s, names[i], k))
      {
        int r = envfrom_parse(sa, s + k, cut - k) ;
        FUZZ_ASSERT(r >= 0, "envfrom_parse failed") ;
        if (r) { if (!stralloc_0(sa)) abort() ; return ; }
      }
    }
    if (!nl) break ;
    s += n + 1 ; len -= n + 1 ;
  }
  if (!stralloc_cats(sa, ENVFROM_DEFAULT) || !stralloc_0(sa)) abort() ;
}

static void check_subst (char const *from, char const *size)
{
  static char const cmd[] = "deliver -f %F -s %S %% %x%" ;
  stralloc sa = STRALLOC_ZERO ;
  char const *s ;
  if (!envfrom_subst(&sa, cmd, from, size)) abort() ;
  s = sa.s ;
  FUZZ_ASSERT(!strncmp(s, "deliver -f ", 11), "substitution changed the command") ;
  s += 11 ;
  FUZZ_ASSERT(*s != '-', "%F inserted an option") ;
  while (*s != ' ') FUZZ_ASSERT(safe(*s++), "%F inserted an unsafe character") ;
  FUZZ_ASSERT(!strncmp(s, " -s ", 4), "substitution changed the command") ;
  s += 4 ;
  while (*s != ' ') { FUZZ_ASSERT(*s >= '0' && *s <= '9', "%S inserted something else than digits") ; s++ ; }
  FUZZ_ASSERT(!strcmp(s, " %% %x%"), "substitution changed the command") ;
  stralloc_free(&sa) ;
}

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  envfrom f = ENVFROM_ZERO ;
  stralloc whole = STRALLOC_ZERO, want = STRALLOC_ZERO, str = STRALLOC_ZERO ;
  fuzz_rng rng ;
  char const *s = (char const *)data + 1, *got ;
  size_t len, pos = 0 ;
  if (!size) return 0 ;
  len = size - 1 ;
  fuzz_rng_init(&rng, data, 1) ;
  if (!envfrom_get(&whole, s, len)) abort() ;
  check_sender(whole.s) ;
  while (pos < len)
  {
    size_t n = fuzz_chunk(&rng, len - pos) ;
    int r = envfrom_feed(&f, s + pos, n) ;
    FUZZ_ASSERT(r >= 0, "envfrom_feed failed") ;
    pos += n ;
    if (r) break ;
  }
  got = envfrom_finish(&f) ;
  FUZZ_ASSERT(got && !strcmp(got, whole.s), "envfrom_feed in pieces and envfrom_get disagree") ;
  model(&want, s, len) ;
  FUZZ_ASSERT(!strcmp(want.s, whole.s), "envfrom_get and the model disagree") ;
  if (!stralloc_catb(&str, s, len) || !stralloc_0(&str)) abort() ;
  whole.len = 0 ;
  if (!envfrom_given(&whole, str.s)) abort() ;
  check_sender(whole.s) ;
  check_subst(str.s, str.s + strlen(str.s) + (strlen(str.s) < len)) ;
  envfrom_free(&f) ;
  stralloc_free(&whole) ;
  stralloc_free(&want) ;
  stralloc_free(&str) ;
  return 0 ;
}
