/* ISC license. */

 /* Unit test of the DNS SRV answer parser: record choice, names and
    compression, presentation form, and malformed answers (every prefix of
    a valid answer is rejected, reading only the given bytes). */

#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <skalibs/buffer.h>
#include <skalibs/strerr.h>
#include <skalibs/types.h>

#include <mpop/srv.h>

typedef struct msg_s msg ;
struct msg_s
{
  unsigned char s[4096] ;
  size_t len ;
} ;

static unsigned int failures = 0 ;

static void fail (char const *what, char const *detail)
{
  failures++ ;
  buffer_puts(buffer_2, "FAIL ") ;
  buffer_puts(buffer_2, what) ;
  buffer_puts(buffer_2, ": ") ;
  buffer_puts(buffer_2, detail) ;
  buffer_putsflush(buffer_2, "\n") ;
}

static void put8 (msg *m, unsigned int c)
{
  m->s[m->len++] = c ;
}

static void put16 (msg *m, unsigned int n)
{
  put8(m, n >> 8) ;
  put8(m, n & 0xff) ;
}

static void putbytes (msg *m, char const *s, size_t n)
{
  memcpy(m->s + m->len, s, n) ;
  m->len += n ;
}

 /* "a.b.c" as labels and the root; "" is the root alone */
static void putname (msg *m, char const *name)
{
  while (*name)
  {
    size_t n = strcspn(name, ".") ;
    put8(m, n) ;
    putbytes(m, name, n) ;
    name += n ;
    if (*name) name++ ;
  }
  put8(m, 0) ;
}

static void start (msg *m, unsigned int an)
{
  m->len = 0 ;
  put16(m, 0x1234) ; put16(m, 0x8180) ; put16(m, 1) ; put16(m, an) ; put16(m, 0) ; put16(m, 0) ;
  putname(m, "_pop3s._tcp.example.org") ;
  put16(m, 33) ; put16(m, 1) ;
}

 /* An answer record owned by the question name; returns where rdata starts */
static size_t rr (msg *m, unsigned int type, unsigned int class, size_t rdlen)
{
  put16(m, 0xc00c) ; put16(m, type) ; put16(m, class) ; put16(m, 0) ; put16(m, 300) ; put16(m, rdlen) ;
  return m->len ;
}

static void srv (msg *m, unsigned int prio, unsigned int weight, unsigned int port, char const *target)
{
  size_t rdlen = 6 + (*target ? strlen(target) + 2 : 1) ;
  rr(m, 33, 1, rdlen) ;
  put16(m, prio) ; put16(m, weight) ; put16(m, port) ;
  putname(m, target) ;
}

 /* Parses a copy of exactly len bytes, so that a sanitizer sees any read beyond */
static int parse (msg const *m, size_t len, srvrecord *r)
{
  unsigned char *copy = malloc(len ? len : 1) ;
  int ret ;
  if (!copy) strerr_diefu1sys(EX_OSERR, "malloc") ;
  memcpy(copy, m->s, len) ;
  ret = srv_best(copy, len, r) ;
  free(copy) ;
  return ret ;
}

static void expect (char const *what, msg const *m, int want, char const *target, unsigned int port)
{
  srvrecord r ;
  int got = parse(m, m->len, &r) ;
  if (got != want) { fail(what, "wrong return value") ; return ; }
  if (got == 1 && strcmp(r.target, target)) fail(what, r.target) ;
  if (got == 1 && r.port != port) fail(what, "wrong port") ;
}

static void expect_prefixes_malformed (char const *what, msg const *m)
{
  srvrecord r ;
  for (size_t k = 0 ; k < m->len ; k++)
    if (parse(m, k, &r) != -1)
    {
      char fmt[SIZE_FMT] ;
      fmt[size_fmt(fmt, k)] = 0 ;
      fail(what, fmt) ;
    }
}

static void choice (void)
{
  msg m ;
  start(&m, 1) ; srv(&m, 0, 1, 995, "pop.example.org") ;
  expect("one record", &m, 1, "pop.example.org", 995) ;
  expect_prefixes_malformed("prefix of one record", &m) ;

  start(&m, 4) ;
  srv(&m, 20, 100, 1, "a.example") ; srv(&m, 10, 1, 2, "b.example") ;
  srv(&m, 10, 50, 3, "c.example") ; srv(&m, 10, 5, 4, "d.example") ;
  expect("lowest priority, then highest weight", &m, 1, "c.example", 3) ;
  expect_prefixes_malformed("prefix of four records", &m) ;

  start(&m, 2) ; srv(&m, 10, 5, 1, "first.example") ; srv(&m, 10, 5, 2, "second.example") ;
  expect("a tie keeps the first", &m, 1, "first.example", 1) ;

  start(&m, 1) ; srv(&m, 0, 0, 0, "") ;
  expect("root target only", &m, 0, 0, 0) ;

  start(&m, 2) ; srv(&m, 0, 0, 0, "") ; srv(&m, 9, 0, 7, "pop.example.org") ;
  expect("root target skipped", &m, 1, "pop.example.org", 7) ;

  start(&m, 0) ;
  expect("no answer", &m, 0, 0, 0) ;

  start(&m, 3) ;
  rr(&m, 5, 1, 7) ; putname(&m, "x.org") ;
  rr(&m, 33, 3, 13) ; put16(&m, 0) ; put16(&m, 0) ; put16(&m, 1) ; putname(&m, "chaos") ;
  srv(&m, 50, 0, 8, "in.example") ;
  expect("other types and classes ignored", &m, 1, "in.example", 8) ;
}

static void names (void)
{
  msg m ;
  size_t at ;
  start(&m, 1) ;
  rr(&m, 33, 1, 12) ;
  put16(&m, 0) ; put16(&m, 0) ; put16(&m, 110) ; put8(&m, 3) ; putbytes(&m, "pop", 3) ; put16(&m, 0xc018) ;
  expect("compressed target", &m, 1, "pop.example.org", 110) ;

  start(&m, 1) ;
  at = rr(&m, 33, 1, 8) + 6 ;
  put16(&m, 0) ; put16(&m, 0) ; put16(&m, 110) ; put16(&m, 0xc000 | at) ;
  expect("pointer to itself", &m, -1, 0, 0) ;

  start(&m, 1) ;
  at = rr(&m, 33, 1, 8) + 6 ;
  put16(&m, 0) ; put16(&m, 0) ; put16(&m, 110) ; put16(&m, 0xc000 | (at + 2)) ;
  putname(&m, "forward.example") ;
  expect("pointer forward", &m, -1, 0, 0) ;

  start(&m, 1) ;
  rr(&m, 33, 1, 9) ;
  put16(&m, 0) ; put16(&m, 0) ; put16(&m, 110) ; putbytes(&m, "\003po", 3) ;
  expect("label running past the end", &m, -1, 0, 0) ;

  start(&m, 1) ;
  rr(&m, 33, 1, 8) ;
  put16(&m, 0) ; put16(&m, 0) ; put16(&m, 110) ; put16(&m, 0x4000) ;
  expect("extended label type", &m, -1, 0, 0) ;

  start(&m, 1) ;
  rr(&m, 33, 1, 8) ;
  put16(&m, 0) ; put16(&m, 0) ; put16(&m, 110) ; put16(&m, 0x8000) ;
  expect("reserved label type", &m, -1, 0, 0) ;

  start(&m, 1) ;
  rr(&m, 33, 1, 19) ;
  put16(&m, 0) ; put16(&m, 0) ; put16(&m, 995) ;
  putbytes(&m, "\003a\nb\003x\"y\003a.b", 13) ;
  expect("escaped presentation form", &m, 1, "a\\010b.x\\\"y.a\\.b", 995) ;
}

 /* 3 labels of 63 bytes and 61 + extra: 255 bytes on the wire (the
    longest name) when extra is 0 */
static void longname (msg *m, unsigned int extra)
{
  start(m, 1) ;
  rr(m, 33, 1, 6 + 255 + extra) ;
  put16(m, 0) ; put16(m, 0) ; put16(m, 995) ;
  for (unsigned int l = 0 ; l < 4 ; l++)
  {
    unsigned int n = l < 3 ? 63 : 61 + extra ;
    put8(m, n) ;
    for (unsigned int i = 0 ; i < n ; i++) put8(m, 0xff) ;
  }
  put8(m, 0) ;
}

static void longest (void)
{
  msg m ;
  char want[SRV_TARGET_MAX] ;
  size_t w = 0 ;
  for (unsigned int l = 0 ; l < 4 ; l++)
  {
    if (l) want[w++] = '.' ;
    for (unsigned int i = 0 ; i < (l < 3 ? 63u : 61u) ; i++) { memcpy(want + w, "\\255", 4) ; w += 4 ; }
  }
  want[w] = 0 ;
  longname(&m, 0) ;
  expect("name of 255 bytes", &m, 1, want, 995) ;
  longname(&m, 1) ;
  expect("name of 256 bytes", &m, -1, 0, 0) ;
}

static void malformed (void)
{
  msg m ;
  start(&m, 2) ; srv(&m, 0, 1, 995, "pop.example.org") ;
  expect("fewer records than announced", &m, -1, 0, 0) ;

  start(&m, 1) ;
  rr(&m, 33, 1, 6 + 5 + 2) ;
  put16(&m, 0) ; put16(&m, 0) ; put16(&m, 995) ; putname(&m, "pop") ; put16(&m, 0) ;
  expect("bytes after the target", &m, -1, 0, 0) ;

  start(&m, 1) ;
  rr(&m, 33, 1, 6) ;
  put16(&m, 0) ; put16(&m, 0) ; put16(&m, 995) ;
  expect("no target", &m, -1, 0, 0) ;

  start(&m, 1) ;
  rr(&m, 33, 1, 8) ;
  put16(&m, 0) ; put16(&m, 0) ; put16(&m, 995) ; putname(&m, "pop") ;
  expect("target longer than rdata", &m, -1, 0, 0) ;

  start(&m, 1) ;
  rr(&m, 33, 1, 200) ;
  put16(&m, 0) ; put16(&m, 0) ; put16(&m, 995) ; putname(&m, "pop") ;
  expect("rdata longer than the message", &m, -1, 0, 0) ;
}

int main (void)
{
  PROG = "srv-test" ;
  choice() ;
  names() ;
  longest() ;
  malformed() ;
  if (failures) return 1 ;
  buffer_putsflush(buffer_1, "srv-test: all checks passed\n") ;
  return 0 ;
}
