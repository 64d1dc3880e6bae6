/* ISC license. */

 /* libFuzzer target for the rc file parser (rcfile_read on a scratch file)
    and what rcparse does with its accounts (account_complete, --pretend
    output, environment). eval runs no shell here: this file's mpop_eval
    replaces libmpop's, "echo TEXT" gives TEXT, "nul TEXT" gives TEXT with
    a NUL in it, "fail" cannot run, anything else prints nothing.
    Properties:
    - the result is 0, 78 (config error), or 74 (eval failure, which names
      no line, as mpop);
    - a config error names the line as "FILE: line N: " with N within the
      file, except "line longer than 500 characters" (no number, as mpop),
      and the lines before that one parse without error;
    - account names are unique, not empty, without blanks at either end,
      ':' or ',';
    - every value, read back as rcparse's children read the environment
      (NORM_ENV), is valid and unchanged;
    - --pretend shows a password as "*" only;
    - a tls_priorities value either gives a version range and at least
      one cipher suite, or a config error. */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <sys/uio.h>

#include <skalibs/buffer.h>
#include <skalibs/stralloc.h>

#include <mpop/account.h>
#include <mpop/settings.h>

#include "../../src/libmpop/tls-internal.h"
#include "harness.h"

#define HOME "/home/fuzz"

int mpop_eval (char const *cmd, stralloc *line)
{
  line->len = 0 ;
  if (!strncmp(cmd, "echo ", 5))
  {
    if (!stralloc_cats(line, cmd + 5)) return -1 ;
  }
  else if (!strncmp(cmd, "nul ", 4))
  {
    if (!stralloc_cats(line, cmd + 4) || !stralloc_catb(line, "\0x", 2)) return -1 ;
  }
  else return strcmp(cmd, "fail") ? 0 : -1 ;
  return stralloc_0(line) ? 1 : -1 ;
}

static stralloc pretended = STRALLOC_ZERO ;

static ssize_t collect (int fd, struct iovec const *v, unsigned int n)
{
  size_t w = 0 ;
  (void)fd ;
  for (unsigned int i = 0 ; i < n ; i++)
  {
    if (!stralloc_catb(&pretended, v[i].iov_base, v[i].iov_len)) return -1 ;
    w += v[i].iov_len ;
  }
  return w ;
}

int LLVMFuzzerInitialize (int *argc, char ***argv)
{
  (void)argc ; (void)argv ;
  setenv("HOME", HOME, 1) ;
  return 0 ;
}

static int parse (char const *path, char const *s, size_t len, rcfile *rc, stralloc *err)
{
  fuzz_writefile(path, s, len) ;
  *rc = (rcfile)RCFILE_ZERO ;
  return rcfile_read(rc, path, err) ;
}

 /* The offset just after the first n lines */
static size_t lines_end (char const *s, size_t len, unsigned long n)
{
  size_t pos = 0 ;
  while (n-- && pos < len)
  {
    char const *nl = memchr(s + pos, '\n', len - pos) ;
    pos = nl ? (size_t)(nl - s) + 1 : len ;
  }
  return pos ;
}

static unsigned long count_lines (char const *s, size_t len)
{
  unsigned long n = 0 ;
  for (size_t i = 0 ; i < len ; i++) n += s[i] == '\n' ;
  return n + (len && s[len - 1] != '\n') ;
}

static void check_prefix_parses (char const *path, char const *s, size_t len, unsigned long n)
{
  rcfile rc ;
  stralloc err = STRALLOC_ZERO ;
  int r = parse(path, s, lines_end(s, len, n), &rc, &err) ;
  FUZZ_ASSERT(!r, "the lines before the one named in an error do not parse") ;
  rcfile_free(&rc) ;
  stralloc_free(&err) ;
}

static void check_error (char const *path, char const *s, size_t len, stralloc const *err)
{
  size_t plen = strlen(path) ;
  char const *m = err->s ;
  unsigned long n = 0 ;
  FUZZ_ASSERT(err->len && !m[err->len - 1] && strlen(m) == err->len - 1, "error message is not a string") ;
  FUZZ_ASSERT(!strncmp(m, path, plen) && !strncmp(m + plen, ": ", 2), "error message does not name the file") ;
  m += plen + 2 ;
  if (!strcmp(m, "line longer than 500 characters"))
  {
    size_t pos = 0 ;
    while (pos < len)
    {
      char const *nl = memchr(s + pos, '\n', len - pos) ;
      size_t l = nl ? (size_t)(nl - s) - pos : len - pos ;
      if (l >= 500) break ;
      n++ ;
      pos += l + 1 ;
    }
    FUZZ_ASSERT(pos < len, "\"line longer than 500 characters\" without such a line") ;
    check_prefix_parses(path, s, len, n) ;
    return ;
  }
  FUZZ_ASSERT(!strncmp(m, "line ", 5), "config error without a line number") ;
  m += 5 ;
  FUZZ_ASSERT(*m >= '1' && *m <= '9', "line number does not start with a digit 1-9") ;
  while (*m >= '0' && *m <= '9') n = n * 10 + (*m++ - '0') ;
  FUZZ_ASSERT(!strncmp(m, ": ", 2) && m[2], "line number not followed by a message") ;
  FUZZ_ASSERT(n <= count_lines(s, len), "line number beyond the end of the file") ;
  check_prefix_parses(path, s, len, n - 1) ;
}

static void check_name (rcfile const *rc, unsigned int k)
{
  char const *name = rc->accounts[k].name ;
  size_t len ;
  FUZZ_ASSERT(name, "account without a name") ;
  len = strlen(name) ;
  FUZZ_ASSERT(len, "empty account name") ;
  FUZZ_ASSERT(!strchr(name, ':') && !strchr(name, ','), "account name with ':' or ','") ;
  FUZZ_ASSERT(name[0] != ' ' && name[0] != '\t' && name[len - 1] != ' ' && name[len - 1] != '\t', "account name with blanks around it") ;
  for (unsigned int j = 0 ; j < k ; j++)
    FUZZ_ASSERT(strcmp(rc->accounts[j].name, name), "two accounts with the same name") ;
}

 /* The environment contract: what rcparse exports reads back unchanged */
static void check_values (account const *a)
{
  for (unsigned int i = 0 ; i < S_N ; i++)
  {
    stralloc sa = STRALLOC_ZERO ;
    if (!a->v[i]) continue ;
    FUZZ_ASSERT(settings_normalize(i, a->v[i], HOME, NORM_ENV, &sa) == SE_OK, "a normalised value is invalid in the environment") ;
    FUZZ_ASSERT(!strcmp(sa.s, a->v[i]), "a normalised value changes when read from the environment") ;
    stralloc_free(&sa) ;
  }
}

static void check_pretend (account const *a, char const *file)
{
  static char const label[] = "\npassword = " ;
  char buf[512] ;
  buffer b ;
  char const *p ;
  buffer_init(&b, &collect, -1, buf, sizeof(buf)) ;
  pretended.len = 0 ;
  FUZZ_ASSERT(account_pretend(&b, a, file, AM_RETRIEVE) && buffer_flush(&b), "--pretend output failed") ;
  if (!stralloc_0(&pretended)) abort() ;
  p = strstr(pretended.s, label) ;
  FUZZ_ASSERT(p, "--pretend output without the password line") ;
  p += sizeof(label) - 1 ;
  FUZZ_ASSERT(!strncmp(p, "*\n", 2) || !strncmp(p, "(not set)\n", 10), "--pretend shows a password") ;
}

static void check_priorities (char const *v)
{
  uint16_t suites[TLS_NSUITES] ;
  unsigned int vmin = 0, vmax = 0 ;
  size_t n = 0 ;
  stralloc err = STRALLOC_ZERO ;
  int r = tls_priorities(v, &vmin, &vmax, suites, &n, &err) ;
  if (r) FUZZ_ASSERT(r == EX_CONFIG && err.len, "tls_priorities failed without a config error") ;
  else FUZZ_ASSERT(vmin <= vmax && n >= 1 && n <= TLS_NSUITES, "tls_priorities gave nothing usable") ;
  stralloc_free(&err) ;
}

static void check_accounts (rcfile *rc, char const *file)
{
  for (unsigned int k = 0 ; k < rc->n ; k++)
  {
    account *a = rc->accounts + k ;
    stralloc err = STRALLOC_ZERO ;
    stralloc modifs = STRALLOC_ZERO ;
    int r ;
    check_name(rc, k) ;
    check_values(a) ;
    if (a->v[S_TLS_PRIORITIES]) check_priorities(a->v[S_TLS_PRIORITIES]) ;
    r = account_complete(a, file, AM_RETRIEVE, &err) ;
    FUZZ_ASSERT(!r || (r == EX_CONFIG && err.len), "account_complete failed without a config error") ;
    check_values(a) ;
    check_pretend(a, file) ;
    FUZZ_ASSERT(account_envmodifs(&modifs, a, file), "account_envmodifs failed") ;
    stralloc_free(&modifs) ;
    stralloc_free(&err) ;
  }
}

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  char const *path = fuzz_tmpfile("mpoprc") ;
  rcfile rc ;
  stralloc err = STRALLOC_ZERO ;
  int r = parse(path, (char const *)data, size, &rc, &err) ;
  FUZZ_ASSERT(!r || r == EX_CONFIG || r == EX_IOERR, "rcfile_read returned an unexpected code") ;
  if (r == EX_CONFIG) check_error(path, (char const *)data, size, &err) ;
  else if (r == EX_IOERR)
    FUZZ_ASSERT(strstr(err.s, ": cannot evaluate '") || strstr(err.s, ": cannot read output of '"), "I/O error other than eval") ;
  else check_accounts(&rc, path) ;
  rcfile_free(&rc) ;
  stralloc_free(&err) ;
  return 0 ;
}
