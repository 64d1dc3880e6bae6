/* ISC license. */

 /* Unit tests of the mpop-stream writer and reader: round trip, every
    split point, byte by byte, malformed input, oversize lengths, EOF in
    the middle. Prints "N passed, N failed"; exit 1 if any failed. */

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <skalibs/buffer.h>
#include <skalibs/stralloc.h>
#include <skalibs/types.h>

#include <mpop/stream.h>
#include "check.h"

 /* A transcript of the events: "M uid size num extra|" "D<bytes>" "E" "Z" "!err" */
static int record (stralloc *t, mpopstream_event const *ev)
{
  char fmt[UINT64_FMT] ;
  switch (ev->type)
  {
    case MPOPSTREAM_MSG :
      return stralloc_cats(t, "M ") && stralloc_cats(t, ev->msg->uid)
       && stralloc_catb(t, " ", 1) && stralloc_catb(t, fmt, uint64_fmt(fmt, ev->msg->size))
       && stralloc_catb(t, " ", 1) && stralloc_catb(t, fmt, uint_fmt(fmt, ev->msg->num))
       && stralloc_catb(t, " ", 1) && stralloc_catb(t, ev->msg->extra, ev->msg->extralen)
       && stralloc_catb(t, "|", 1) ;
    case MPOPSTREAM_DATA : return stralloc_catb(t, ev->s, ev->len) ;
    case MPOPSTREAM_MSGEND : return stralloc_catb(t, "<E>", 3) ;
    case MPOPSTREAM_END : return stralloc_catb(t, "<Z>", 3) ;
    case MPOPSTREAM_ERROR : return stralloc_catb(t, "<!", 2) && stralloc_cats(t, ev->err) && stralloc_catb(t, ">", 1) ;
    default : return 0 ;
  }
}

 /* Feeds s in pieces given by cut positions; then EOF. Stops at error/end. */
static void run_cuts (stralloc *t, char const *s, size_t len, size_t const *cuts, unsigned int ncuts)
{
  mpopstream_reader r ;
  mpopstream_event ev ;
  size_t pos = 0 ;
  mpopstream_reader_init(&r) ;
  t->len = 0 ;
  for (unsigned int c = 0 ; c <= ncuts ; c++)
  {
    size_t end = c < ncuts ? cuts[c] : len ;
    while (pos < end)
    {
      size_t used ;
      int e = mpopstream_feed(&r, s + pos, end - pos, &used, &ev) ;
      pos += used ;
      if (e == MPOPSTREAM_NEED) break ;
      record(t, &ev) ;
      if (e == MPOPSTREAM_ERROR) return ;
    }
  }
  record(t, (mpopstream_eof(&r, &ev), &ev)) ;
}

static void run (stralloc *t, char const *s, size_t len)
{
  run_cuts(t, s, len, 0, 0) ;
}

static void build_stream (stralloc *sa, size_t bigsize)
{
  static char const *const extra[2] = { "account=work", "host=pop.example" } ;
  sa->len = 0 ;
  mpopstream_put_banner(sa) ;
  mpopstream_put_header(sa, "uid-1", 12, 1, 0, 0) ;
  mpopstream_put_data(sa, "Subject: x\n\nbody\n", 17) ;
  mpopstream_put_end(sa) ;
  mpopstream_put_header(sa, "empty", 0, 2, extra, 2) ;
  mpopstream_put_end(sa) ;
  if (bigsize)
  {
    stralloc b = STRALLOC_ZERO ;
    stralloc_ready(&b, bigsize) ;
    for (size_t i = 0 ; i < bigsize ; i++) b.s[i] = i % 71 == 70 ? '\n' : ",:0123456789abc"[i % 15] ;
    mpopstream_put_header(sa, "big", bigsize, 3, 0, 0) ;
    mpopstream_put_data(sa, b.s, bigsize) ;
    mpopstream_put_end(sa) ;
    stralloc_free(&b) ;
  }
  mpopstream_put_header(sa, "u 4", 5, 4, 0, 0) ;
  mpopstream_put_data(sa, "ab", 2) ;
  mpopstream_put_data(sa, "c\n", 2) ;
  mpopstream_put_end(sa) ;
  mpopstream_put_trailer(sa) ;
}

static void test_writer (void)
{
  stralloc sa = STRALLOC_ZERO ;
  static char const *const bad[1] = { "uid=x" } ;
  static char const *const nl[1] = { "a=b\nc" } ;
  mpopstream_put_banner(&sa) ;
  check(sa.len == 17 && !memcmp(sa.s, "13:mpop-stream 1,", 17), "banner") ;
  sa.len = 0 ;
  mpopstream_put_header(&sa, "x", 5, 2, 0, 0) ;
  check(sa.len == 27 && !memcmp(sa.s, "23:msg\nuid=x\nsize=5\nnum=2\n,", 26), "header") ;
  sa.len = 0 ;
  check(!mpopstream_put_header(&sa, "", 1, 1, 0, 0) && errno == EINVAL && !sa.len, "empty uid refused") ;
  check(!mpopstream_put_header(&sa, "a\nb", 1, 1, 0, 0) && errno == EINVAL, "uid with newline refused") ;
  check(!mpopstream_put_header(&sa, "a", 1, 1, bad, 1) && errno == EINVAL, "extra uid= refused") ;
  check(!mpopstream_put_header(&sa, "a", 1, 1, nl, 1) && errno == EINVAL, "extra with newline refused") ;
  mpopstream_put_data(&sa, "", 0) ;
  check(!sa.len, "empty data writes nothing") ;
  mpopstream_put_end(&sa) ;
  mpopstream_put_trailer(&sa) ;
  check(sa.len == 9 && !memcmp(sa.s, "0:,3:end,", 9), "end and trailer") ;
  stralloc_free(&sa) ;
}

static void test_roundtrip (void)
{
  stralloc s = STRALLOC_ZERO, t = STRALLOC_ZERO, ref = STRALLOC_ZERO, want = STRALLOC_ZERO ;
  int allsame = 1 ;
  build_stream(&s, 0) ;
  run(&ref, s.s, s.len) ;
  stralloc_cats(&want, "M uid-1 12 1 |Subject: x\n\nbody\n<E>M empty 0 2 account=work\nhost=pop.example\n|<E>M u 4 5 4 |abc\n<E><Z><Z>") ;
  check(ref.len == want.len && !memcmp(ref.s, want.s, ref.len), "round trip transcript") ;
  for (size_t k = 0 ; k <= s.len ; k++)
  {
    run_cuts(&t, s.s, s.len, &k, 1) ;
    if (t.len != ref.len || memcmp(t.s, ref.s, t.len)) allsame = 0 ;
  }
  check(allsame, "split at every byte boundary") ;
  allsame = 1 ;
  for (size_t k = 0 ; k + 1 < s.len ; k++)
  {
    size_t cuts[2] = { k, k + 1 } ;
    run_cuts(&t, s.s, s.len, cuts, 2) ;
    if (t.len != ref.len || memcmp(t.s, ref.s, t.len)) allsame = 0 ;
  }
  check(allsame, "one-byte piece at every position") ;
  {
    size_t cuts[4096] ;
    unsigned int n = s.len < 4096 ? s.len : 4096 ;
    for (unsigned int i = 0 ; i < n ; i++) cuts[i] = i + 1 ;
    run_cuts(&t, s.s, s.len, cuts, n) ;
    check(t.len == ref.len && !memcmp(t.s, ref.s, t.len), "byte by byte") ;
  }
  stralloc_free(&s) ; stralloc_free(&t) ; stralloc_free(&ref) ; stralloc_free(&want) ;
}

static void test_big (void)
{
  stralloc s = STRALLOC_ZERO, t = STRALLOC_ZERO, ref = STRALLOC_ZERO ;
  size_t big = 2 * MPOPSTREAM_CHUNK + 12345 ;
  size_t cuts[64] ;
  unsigned int n = 0 ;
  int ok = 1 ;
  build_stream(&s, big) ;
  run(&ref, s.s, s.len) ;
  check(ref.len > big && ref.len >= 3 && !memcmp(ref.s + ref.len - 6, "<Z><Z>", 6), "big message parsed") ;
  {
    char const *p = strstr(ref.s, "M big ") ;
    check(p && !memcmp(strchr(p, '|') + 1 + big, "<E>", 3), "big message data complete") ;
  }
  for (size_t pos = 7 ; pos < s.len && n < 64 ; pos = pos * 3 + 1) cuts[n++] = pos ;
  run_cuts(&t, s.s, s.len, cuts, n) ;
  if (t.len != ref.len || memcmp(t.s, ref.s, t.len)) ok = 0 ;
  check(ok, "big message in uneven pieces") ;
  stralloc_free(&s) ; stralloc_free(&t) ; stralloc_free(&ref) ;
}

 /* input must produce a transcript ending with <!...> whose text contains what */
static void bad (char const *input, size_t len, char const *prefix, char const *what)
{
  stralloc t = STRALLOC_ZERO ;
  stralloc name = STRALLOC_ZERO ;
  run(&t, input, len) ;
  stralloc_cats(&name, "malformed: ") ;
  stralloc_cats(&name, what) ;
  stralloc_0(&name) ;
  stralloc_0(&t) ;
  check(t.len > 3 && t.s[t.len - 2] == '>' && strstr(t.s, "<!") && strstr(t.s, what)
   && !strncmp(t.s, prefix, strlen(prefix)), name.s) ;
  stralloc_free(&t) ;
  stralloc_free(&name) ;
}

#define B "13:mpop-stream 1,"
#define H "23:msg\nuid=x\nsize=5\nnum=2\n,"
#define BAD(s, prefix, what) bad(s, sizeof(s) - 1, prefix, what)

static void test_malformed (void)
{
  BAD("", "", "empty stream") ;
  BAD("x", "", "bad banner") ;
  BAD("13:mpop-stream 2,", "", "unsupported mpop-stream version") ;
  BAD("13:mpop-stream 1;", "", "terminator") ;
  BAD("013:mpop-stream 1,", "", "leading zero") ;
  BAD("0:,", "", "bad banner") ;
  BAD(B "3:foo,", "", "expected a message header") ;
  BAD(B "99999999:", "", "too long") ;
  BAD(B "4097:", "", "too long") ;
  BAD(B H "1048577:", "M x 5 2 |", "too long") ;
  BAD(B H "3:abc;", "M x 5 2 |abc", "terminator") ;
  BAD(B H "3:abc,", "M x 5 2 |abc", "middle of a message") ;
  BAD(B H, "M x 5 2 |", "middle of a message") ;
  BAD(B H "2:ab", "M x 5 2 |ab", "middle of a message") ;
  BAD(B H "1", "M x 5 2 |", "middle of a message") ;
  BAD(B H "0:,", "M x 5 2 |<E>", "no trailer") ;
  BAD(B, "", "no trailer") ;
  BAD(B "3:end,x", "<Z>", "after the end") ;
  BAD(B "x", "", "bad netstring length") ;
  BAD(B ":", "", "bad netstring length") ;
  BAD(B "0:,", "", "empty netstring outside") ;
  BAD(B "11:msg\nsize=5\n,", "", "without uid") ;
  BAD(B "21:msg\nuid=x\nnum=2\nsize\n,", "", "bad line") ;
  BAD(B "22:msg\nuid=x\nsize=5\nnum=2,", "", "unterminated line") ;
  BAD(B "29:msg\nuid=x\nuid=y\nsize=5\nnum=2\n,", "", "duplicate uid") ;
  BAD(B "22:msg\nuid=\nsize=5\nnum=2\n,", "", "empty uid") ;
  BAD(B "24:msg\nuid=\ty\nsize=5\nnum=2\n,", "", "control character") ;
  BAD(B "24:msg\nuid=x\nsize=05\nnum=2\n,", "", "bad size") ;
  BAD(B "24:msg\nuid=x\nsize=-5\nnum=2\n,", "", "bad size") ;
  BAD(B "39:msg\nuid=x\nsize=5\nnum=99999999999999999\n,", "", "bad num") ;
  BAD(B "26:msg\nuid=x\nsize=5\nnum=2\n=y\n,", "", "bad line") ;
  bad(B "24:msg\nuid=x\0\nsize=5\nnum=2\n,", sizeof(B) + 27, "", "NUL byte") ;
  {
    stralloc s = STRALLOC_ZERO ;
    char fmt[UINT_FMT] ;
    stralloc_cats(&s, B) ;
    stralloc_catb(&s, fmt, uint_fmt(fmt, 4100)) ;
    stralloc_cats(&s, ":msg\nuid=x\nsize=1\nnum=1\nx=") ;
    while (s.len < 17 + 5 + 4100) stralloc_catb(&s, "y", 1) ;
    stralloc_cats(&s, "\n,") ;
    bad(s.s, s.len, "", "too long") ;
    stralloc_free(&s) ;
  }
}

static void test_sticky_error (void)
{
  mpopstream_reader r ;
  mpopstream_event ev ;
  size_t used ;
  mpopstream_reader_init(&r) ;
  check(mpopstream_feed(&r, "zz", 2, &used, &ev) == MPOPSTREAM_ERROR, "error reported") ;
  check(mpopstream_feed(&r, B, 17, &used, &ev) == MPOPSTREAM_ERROR && !used, "error is sticky") ;
  check(mpopstream_eof(&r, &ev) == MPOPSTREAM_ERROR, "error is sticky at eof") ;
}

static void test_detect (void)
{
  check(mpopstream_detect(B "x", 18) == 1, "detect banner") ;
  check(mpopstream_detect(B, 17) == 1, "detect exact banner") ;
  check(mpopstream_detect("13:mpop", 7) == -1, "detect prefix") ;
  check(mpopstream_detect("", 0) == -1, "detect empty") ;
  check(mpopstream_detect("From x", 6) == 0, "detect mail") ;
  check(mpopstream_detect("13:mpop-stream 2,", 17) == 0, "detect other version") ;
}

static void test_get (void)
{
  stralloc s = STRALLOC_ZERO, t = STRALLOC_ZERO ;
  int p[2] ;
  char storage[100] ;
  buffer b ;
  mpopstream_reader r ;
  mpopstream_event ev ;
  int e ;
  build_stream(&s, 0) ;
  if (pipe(p) < 0 || (size_t)write(p[1], s.s, s.len) != s.len) { check(0, "pipe") ; return ; }
  close(p[1]) ;
  buffer_init(&b, &buffer_read, p[0], storage, sizeof(storage)) ;
  mpopstream_reader_init(&r) ;
  do { e = mpopstream_get(&r, &b, &ev) ; record(&t, &ev) ; }
  while (e != MPOPSTREAM_END && e != MPOPSTREAM_ERROR && e != MPOPSTREAM_IOERROR) ;
  check(e == MPOPSTREAM_END && t.len > 3 && !memcmp(t.s + t.len - 3, "<Z>", 3) && strstr(t.s, "M u 4 5 4 |abc\n<E>"), "mpopstream_get through a small buffer") ;
  close(p[0]) ;
  stralloc_free(&s) ; stralloc_free(&t) ;
}

static uint32_t lcg (uint32_t *state)
{
  *state = *state * 1103515245u + 12345u ;
  return *state >> 8 ;
}

 /* Mutated streams fed in random pieces: the reader must never crash,
    never report more data than it was given, and end in END or ERROR;
    a message's data is only complete with its MSGEND. */
static void test_fuzz (void)
{
  stralloc s = STRALLOC_ZERO, m = STRALLOC_ZERO ;
  uint32_t seed = 42 ;
  unsigned int bad = 0 ;
  build_stream(&s, 0) ;
  for (unsigned int round = 0 ; round < 20000 ; round++)
  {
    mpopstream_reader r ;
    mpopstream_event ev ;
    size_t pos = 0, ndata = 0 ;
    int last = MPOPSTREAM_NEED, inmsg = 0 ;
    stralloc_copy(&m, &s) ;
    for (unsigned int k = 1 + lcg(&seed) % 4 ; k ; k--)
    {
      size_t at = lcg(&seed) % m.len ;
      switch (lcg(&seed) % 3)
      {
        case 0 : m.s[at] = lcg(&seed) ; break ;
        case 1 : m.len = at ; break ;
        default : m.s[at] = "0123456789:,\n"[lcg(&seed) % 13] ; break ;
      }
      if (!m.len) break ;
    }
    mpopstream_reader_init(&r) ;
    while (pos < m.len && last != MPOPSTREAM_ERROR && last != MPOPSTREAM_END)
    {
      size_t piece = 1 + lcg(&seed) % 40, used ;
      if (piece > m.len - pos) piece = m.len - pos ;
      last = mpopstream_feed(&r, m.s + pos, piece, &used, &ev) ;
      if (used > piece) bad++ ;
      if (last == MPOPSTREAM_DATA && (ev.s < m.s + pos || ev.s + ev.len > m.s + pos + used || !inmsg)) bad++ ;
      if (last == MPOPSTREAM_DATA) ndata += ev.len ;
      if (last == MPOPSTREAM_MSG) { if (inmsg || !ev.msg->uid[0]) bad++ ; inmsg = 1 ; }
      if (last == MPOPSTREAM_MSGEND) { if (!inmsg) bad++ ; inmsg = 0 ; }
      pos += used ;
    }
    if (last != MPOPSTREAM_ERROR && last != MPOPSTREAM_END)
    {
      last = mpopstream_eof(&r, &ev) ;
      if (inmsg && last != MPOPSTREAM_ERROR) bad++ ;
    }
    if (last != MPOPSTREAM_ERROR && last != MPOPSTREAM_END) bad++ ;
    if (ndata > m.len) bad++ ;
  }
  check(!bad, "fuzz: 20000 mutated streams handled") ;
  stralloc_free(&s) ; stralloc_free(&m) ;
}

int main (void)
{
  test_writer() ;
  test_roundtrip() ;
  test_big() ;
  test_malformed() ;
  test_sticky_error() ;
  test_detect() ;
  test_get() ;
  test_fuzz() ;
  return check_report() ;
}
