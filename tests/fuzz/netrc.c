/* ISC license. */

 /* libFuzzer target for the netrc parser (netrc_lookup on a scratch file).
    The input's first line is "HOST USER" (the lookup), the rest is the
    file. Properties:
    - the result is 0 or 1, and a found password is NUL-terminated;
    - host names compare without regard to case: the lookup gives the same
      answer for the host in upper and in lower case;
    - a host or a user that does not occur in the file (as it is, or with
      the backslash escapes of quoted tokens undone) finds nothing, so a
      "default" entry never gives its password away. */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <skalibs/stralloc.h>

#include <mpop/auth.h>

#include "harness.h"

static int lookup (char const *path, char const *file, size_t len, char const *host, char const *user, stralloc *pw)
{
  int r ;
  fuzz_writefile(path, file, len) ;
  pw->len = 0 ;
  r = netrc_lookup(path, host, user, pw) ;
  FUZZ_ASSERT(r == 0 || r == 1, "netrc_lookup failed") ;
  if (r) FUZZ_ASSERT(pw->s && !pw->s[pw->len], "password not NUL-terminated") ;
  else FUZZ_ASSERT(!pw->len, "no password found, but some returned") ;
  return r ;
}

 /* Whether s occurs in file, ignoring case if icase */
static int occurs (char const *file, size_t len, char const *s, int icase)
{
  size_t n = strlen(s) ;
  if (!n) return 1 ;
  for (size_t i = 0 ; i + n <= len ; i++)
    if (icase ? !strncasecmp(file + i, s, n) : !memcmp(file + i, s, n)) return 1 ;
  return 0 ;
}

 /* The file with every backslash escape undone */
static void unescape (stralloc *sa, char const *s, size_t len)
{
  for (size_t i = 0 ; i < len ; i++)
  {
    if (s[i] == '\\' && i + 1 < len) i++ ;
    if (!stralloc_catb(sa, s + i, 1)) abort() ;
  }
}

static int occurs_file (char const *file, size_t len, char const *s, int icase)
{
  stralloc u = STRALLOC_ZERO ;
  int r = occurs(file, len, s, icase) ;
  if (!r)
  {
    unescape(&u, file, len) ;
    r = occurs(u.s, u.len, s, icase) ;
    stralloc_free(&u) ;
  }
  return r ;
}

static void swapcase (char *s)
{
  for (; *s ; s++)
    if (*s >= 'a' && *s <= 'z') *s -= 32 ;
    else if (*s >= 'A' && *s <= 'Z') *s += 32 ;
}

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  char const *path = fuzz_tmpfile("netrc") ;
  char const *s = (char const *)data ;
  char const *nl = memchr(s, '\n', size) ;
  char const *file = nl ? nl + 1 : s + size ;
  size_t len = size - (file - s) ;
  stralloc first = STRALLOC_ZERO ;
  stralloc pw = STRALLOC_ZERO, pw2 = STRALLOC_ZERO ;
  char *host, *user, *sp ;
  int r ;
  if (!stralloc_catb(&first, s, nl ? (size_t)(nl - s) : size) || !stralloc_0(&first)) abort() ;
  host = first.s ;
  sp = strchr(host, ' ') ;
  user = sp ? sp + 1 : (char *)"" ;
  if (sp) *sp = 0 ;
  r = lookup(path, file, len, host, user, &pw) ;
  if (!occurs_file(file, len, host, 1) || !occurs_file(file, len, user, 0))
    FUZZ_ASSERT(!r, "a password found for a host or user that is not in the file") ;
  swapcase(host) ;
  FUZZ_ASSERT(lookup(path, file, len, host, user, &pw2) == r && pw.len == pw2.len && (!pw.len || !memcmp(pw.s, pw2.s, pw.len)), "host case changes the answer") ;
  FUZZ_ASSERT(!lookup(path, file, len, "\001no such host\001", user, &pw2), "a password found for a host that is not in the file") ;
  stralloc_free(&first) ;
  secret_free(&pw) ;
  secret_free(&pw2) ;
  return 0 ;
}
