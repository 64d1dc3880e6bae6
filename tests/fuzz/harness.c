/* ISC license. */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <skalibs/buffer.h>
#include <skalibs/stralloc.h>
#include <skalibs/tai.h>
#include <skalibs/types.h>

#include <mpop/conn.h>
#include <mpop/pop3.h>

#include "harness.h"

static void die (char const *a, char const *b, char const *c, char const *d) __attribute__((noreturn)) ;
static void die (char const *a, char const *b, char const *c, char const *d)
{
  buffer_puts(buffer_2, a) ;
  buffer_puts(buffer_2, b) ;
  buffer_puts(buffer_2, c) ;
  buffer_puts(buffer_2, d) ;
  buffer_putsflush(buffer_2, "\n") ;
  abort() ;
}

static void diesys (char const *what, char const *path) __attribute__((noreturn)) ;
static void diesys (char const *what, char const *path)
{
  die(what, path, ": ", strerror(errno)) ;
}

void fuzz_fail (char const *file, int line, char const *what)
{
  char fmt[INT_FMT + 1] ;
  fmt[0] = ':' ;
  fmt[1 + int_fmt(fmt + 1, line)] = 0 ;
  die(file, fmt, ": property violated: ", what) ;
}

 /* Choices */

void fuzz_rng_init (fuzz_rng *r, uint8_t const *seed, size_t len)
{
  r->state = 0x9e3779b97f4a7c15ULL ;
  for (size_t i = 0 ; i < len ; i++) r->state = (r->state ^ seed[i]) * 0x100000001b3ULL ;
  r->mode = len ? seed[0] & 7 : 0 ;
}

uint64_t fuzz_rand (fuzz_rng *r)
{
  uint64_t z = (r->state += 0x9e3779b97f4a7c15ULL) ;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL ;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL ;
  return z ^ (z >> 31) ;
}

size_t fuzz_chunk (fuzz_rng *r, size_t max)
{
  size_t n ;
  if (!max) return 0 ;
  switch (r->mode)
  {
    case 0 : return max ;
    case 1 : return 1 ;
    case 2 : case 3 : n = 1 + fuzz_rand(r) % 4 ; break ;
    case 4 : case 5 : n = 1 + fuzz_rand(r) % 64 ; break ;
    case 6 : n = 1 + fuzz_rand(r) % 4096 ; break ;
    default : n = fuzz_rand(r) & 1 ? 1 + fuzz_rand(r) % 3 : 1 + fuzz_rand(r) % 20000 ; break ;
  }
  return n < max ? n : max ;
}

 /* Randomness */

static unsigned char randbyte ;

void fuzz_random_reset (void)
{
  randbyte = 0 ;
}

ssize_t getrandom (void *buf, size_t len, unsigned int flags)
{
  (void)flags ;
  for (size_t i = 0 ; i < len ; i++) ((unsigned char *)buf)[i] = randbyte++ ;
  return len ;
}

 /* The scripted server */

stralloc fuzz_sent = STRALLOC_ZERO ;
static char const *script ;
static size_t scriptlen ;
static size_t scriptpos ;
static fuzz_rng scriptrng ;

void fuzz_server (char const *s, size_t len, fuzz_rng const *rng)
{
  script = s ;
  scriptlen = len ;
  scriptpos = 0 ;
  scriptrng = *rng ;
  fuzz_sent.len = 0 ;
}

size_t fuzz_server_left (void)
{
  return scriptlen - scriptpos ;
}

ssize_t __wrap_conn_read (conn *c, char *buf, size_t max)
{
  size_t n = fuzz_chunk(&scriptrng, scriptlen - scriptpos < max ? scriptlen - scriptpos : max) ;
  (void)c ;
  FUZZ_ASSERT(max, "conn_read called with no room") ;
  memcpy(buf, script + scriptpos, n) ;
  scriptpos += n ;
  return n ;
}

int __wrap_conn_put (conn *c, char const *s, size_t len)
{
  (void)c ;
  if (!stralloc_catb(&fuzz_sent, s, len)) abort() ;
  return 0 ;
}

void fuzz_pop3_begin (pop3 *p, account const *a)
{
  *p = (pop3)POP3_ZERO ;
  p->a = a ;
  p->c.timeout = tain_infinite_relative ;
}

void fuzz_ucspi (void)
{
  for (int fd = 6 ; fd <= 7 ; fd++)
    if (fcntl(fd, F_GETFD) < 0)
    {
      int n = open("/dev/null", O_RDWR) ;
      if (n < 0) abort() ;
      if (n != fd && (dup2(n, fd) < 0 || close(n) < 0)) abort() ;
    }
}

void fuzz_pop3_end (pop3 *p)
{
  p->c.rfd = p->c.wfd = -1 ;
  pop3_free(p) ;
}

void fuzz_check_sent (void)
{
  size_t pos = 0 ;
  while (pos < fuzz_sent.len)
  {
    char const *s = fuzz_sent.s + pos ;
    char const *nl = memchr(s, '\n', fuzz_sent.len - pos) ;
    size_t len ;
    FUZZ_ASSERT(nl, "the client sent a line without its end") ;
    len = nl - s ;
    FUZZ_ASSERT(len >= 1 && s[len - 1] == '\r', "the client sent a bare LF") ;
    FUZZ_ASSERT(!memchr(s, '\r', len - 1), "the client sent a CR inside a line") ;
    FUZZ_ASSERT(len - 1 <= POP3_CMD_MAX, "the client sent a command longer than POP3_CMD_MAX") ;
    pos += len + 1 ;
  }
}

 /* Whether s occurs in sa */
int fuzz_contains (stralloc const *sa, char const *s)
{
  size_t n = strlen(s) ;
  if (!n) return 1 ;
  for (size_t i = 0 ; i + n <= sa->len ; i++)
    if (sa->s[i] == s[0] && !memcmp(sa->s + i, s, n)) return 1 ;
  return 0 ;
}

 /* Scratch files */

static stralloc tmpdir = STRALLOC_ZERO ;
static stralloc tmppath = STRALLOC_ZERO ;
static char const *tmpnames[8] ;
static unsigned int ntmpnames ;

static char const *path_in_tmpdir (char const *name)
{
  tmppath.len = 0 ;
  if (!stralloc_copyb(&tmppath, tmpdir.s, tmpdir.len - 1) || !stralloc_catb(&tmppath, "/", 1)
   || !stralloc_cats(&tmppath, name) || !stralloc_0(&tmppath)) abort() ;
  return tmppath.s ;
}

static void cleanup (void)
{
  for (unsigned int i = 0 ; i < ntmpnames ; i++) unlink(path_in_tmpdir(tmpnames[i])) ;
  rmdir(tmpdir.s) ;
}

char const *fuzz_tmpfile (char const *name)
{
  unsigned int i = 0 ;
  if (!tmpdir.len)
  {
    char const *base = getenv("FUZZ_TMPDIR") ;
    struct stat st ;
    if (!base || !*base) base = !stat("/dev/shm", &st) && S_ISDIR(st.st_mode) && !access("/dev/shm", W_OK) ? "/dev/shm" : "/tmp" ;
    if (!stralloc_copys(&tmpdir, base) || !stralloc_cats(&tmpdir, "/mpop-fuzz.XXXXXX") || !stralloc_0(&tmpdir)) abort() ;
    if (!mkdtemp(tmpdir.s)) diesys("cannot create a directory in ", base) ;
    atexit(&cleanup) ;
  }
  for (; i < ntmpnames ; i++) if (!strcmp(tmpnames[i], name)) break ;
  if (i == ntmpnames)
  {
    if (ntmpnames == sizeof(tmpnames) / sizeof(tmpnames[0])) abort() ;
    tmpnames[ntmpnames++] = name ;
  }
  return path_in_tmpdir(name) ;
}

void fuzz_writefile (char const *path, char const *s, size_t len)
{
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) ;
  if (fd < 0) diesys("cannot open ", path) ;
  while (len)
  {
    ssize_t w = write(fd, s, len) ;
    if (w < 0 && errno == EINTR) continue ;
    if (w <= 0) diesys("cannot write ", path) ;
    s += w ; len -= w ;
  }
  close(fd) ;
}
