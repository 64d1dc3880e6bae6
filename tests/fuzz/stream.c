/* ISC license. */

 /* libFuzzer target for the mpop-stream reader (and writer). The input is
    one byte of choices (where to cut) then the stream. It is read three
    ways: all at once with mpopstream_feed, in pieces with mpopstream_feed,
    and with mpopstream_get through a small skalibs buffer whose reads
    return pieces. Properties:
    - the three give the same events (message data compared per message,
      since the cuts split it), the same error at the same place;
    - a data event carries 1 to MPOPSTREAM_CHUNK bytes; a message header
      has a uid without control characters and extra lines "key=value"
      other than uid, size and num;
    - a complete stream, written again with the writers from its events,
      reads back to the same events. */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include <skalibs/buffer.h>
#include <skalibs/stralloc.h>
#include <skalibs/types.h>

#include <mpop/stream.h>

#include "harness.h"

 /* The transcript: "M" uid NUL size NUL num NUL extra NUL, "D" len NUL
    bytes (a message's data, joined, at its end), "E" (message end), "Z"
    (stream end), "!" error NUL */

typedef struct transcript_s transcript ;
struct transcript_s
{
  stralloc t ;
  stralloc data ;
  int last ;
} ;
#define TRANSCRIPT_ZERO { .t = STRALLOC_ZERO, .data = STRALLOC_ZERO, .last = MPOPSTREAM_NEED }

static void put (stralloc *sa, char const *s, size_t len)
{
  if (!stralloc_catb(sa, s, len)) abort() ;
}

static void putnum (stralloc *sa, uint64_t n)
{
  char fmt[UINT64_FMT] ;
  put(sa, fmt, uint64_fmt(fmt, n)) ;
  put(sa, "", 1) ;
}

static void check_msg (mpopstream_msg const *m)
{
  size_t n = strlen(m->uid) ;
  char const *s = m->extra, *end = m->extra + m->extralen ;
  FUZZ_ASSERT(n, "empty uid") ;
  for (size_t i = 0 ; i < n ; i++)
    FUZZ_ASSERT((unsigned char)m->uid[i] >= 0x20 && m->uid[i] != 0x7f, "uid with a control character") ;
  FUZZ_ASSERT(!m->extralen || end[-1] == '\n', "extra header lines not ending with a newline") ;
  while (s < end)
  {
    char const *nl = memchr(s, '\n', end - s) ;
    char const *eq = memchr(s, '=', nl - s) ;
    FUZZ_ASSERT(eq && eq > s, "extra header line without a key") ;
    FUZZ_ASSERT(!((eq - s == 3 && (!memcmp(s, "uid", 3) || !memcmp(s, "num", 3))) || (eq - s == 4 && !memcmp(s, "size", 4))), "uid, size or num among the extra lines") ;
    s = nl + 1 ;
  }
}

static void record (transcript *tr, mpopstream_event const *ev)
{
  tr->last = ev->type ;
  switch (ev->type)
  {
    case MPOPSTREAM_MSG :
      check_msg(ev->msg) ;
      tr->data.len = 0 ;
      put(&tr->t, "M", 1) ;
      put(&tr->t, ev->msg->uid, strlen(ev->msg->uid) + 1) ;
      putnum(&tr->t, ev->msg->size) ;
      putnum(&tr->t, ev->msg->num) ;
      put(&tr->t, ev->msg->extra, ev->msg->extralen) ;
      put(&tr->t, "", 1) ;
      break ;
    case MPOPSTREAM_DATA :
      FUZZ_ASSERT(ev->len >= 1 && ev->len <= MPOPSTREAM_CHUNK, "data event of a bad size") ;
      put(&tr->data, ev->s, ev->len) ;
      break ;
    case MPOPSTREAM_MSGEND :
      put(&tr->t, "D", 1) ;
      putnum(&tr->t, tr->data.len) ;
      put(&tr->t, tr->data.s, tr->data.len) ;
      put(&tr->t, "E", 1) ;
      tr->data.len = 0 ;
      break ;
    case MPOPSTREAM_END : put(&tr->t, "Z", 1) ; break ;
    case MPOPSTREAM_ERROR :
      FUZZ_ASSERT(ev->err && *ev->err, "error event without a reason") ;
      put(&tr->t, "D", 1) ;
      putnum(&tr->t, tr->data.len) ;
      put(&tr->t, tr->data.s, tr->data.len) ;
      put(&tr->t, "!", 1) ;
      put(&tr->t, ev->err, strlen(ev->err) + 1) ;
      break ;
    default : FUZZ_ASSERT(0, "unexpected event") ;
  }
}

 /* Feeds s in pieces of the sizes rng chooses, then the end of input.
    Stops at the trailer, as mpopstream_get does, after checking that
    anything after it is an error. */
static void read_fed (transcript *tr, char const *s, size_t len, fuzz_rng *rng)
{
  mpopstream_reader r ;
  mpopstream_event ev ;
  mpopstream_reader_init(&r) ;
  while (len)
  {
    size_t n = fuzz_chunk(rng, len), off = 0 ;
    while (off < n)
    {
      size_t used ;
      int e = mpopstream_feed(&r, s + off, n - off, &used, &ev) ;
      FUZZ_ASSERT(used <= n - off, "mpopstream_feed used more than it was given") ;
      FUZZ_ASSERT(e != MPOPSTREAM_NEED || used == n - off, "mpopstream_feed wants more before using everything") ;
      off += used ;
      if (e == MPOPSTREAM_NEED) break ;
      record(tr, &ev) ;
      if (e == MPOPSTREAM_ERROR) return ;
      if (e == MPOPSTREAM_END)
      {
        if (len > off) FUZZ_ASSERT(mpopstream_feed(&r, s + off, len - off, &used, &ev) == MPOPSTREAM_ERROR, "data after the end of the stream accepted") ;
        else FUZZ_ASSERT(mpopstream_eof(&r, &ev) == MPOPSTREAM_END, "end of input after the trailer is an error") ;
        return ;
      }
    }
    s += n ; len -= n ;
  }
  mpopstream_eof(&r, &ev) ;
  record(tr, &ev) ;
}

 /* mpopstream_get on a buffer whose reads hand out pieces */

static char const *src ;
static size_t srclen ;
static fuzz_rng srcrng ;

static ssize_t piece_read (int fd, struct iovec const *v, unsigned int n)
{
  size_t room = 0, want, done = 0 ;
  (void)fd ;
  for (unsigned int i = 0 ; i < n ; i++) room += v[i].iov_len ;
  want = fuzz_chunk(&srcrng, srclen < room ? srclen : room) ;
  for (unsigned int i = 0 ; i < n && done < want ; i++)
  {
    size_t k = v[i].iov_len < want - done ? v[i].iov_len : want - done ;
    memcpy(v[i].iov_base, src + done, k) ;
    done += k ;
  }
  src += done ; srclen -= done ;
  return done ;
}

static void read_got (transcript *tr, char const *s, size_t len, fuzz_rng const *rng)
{
  char storage[97] ;
  buffer b ;
  mpopstream_reader r ;
  mpopstream_event ev ;
  int e ;
  src = s ; srclen = len ; srcrng = *rng ;
  buffer_init(&b, &piece_read, -1, storage, sizeof(storage)) ;
  mpopstream_reader_init(&r) ;
  do
  {
    e = mpopstream_get(&r, &b, &ev) ;
    FUZZ_ASSERT(e != MPOPSTREAM_NEED && e != MPOPSTREAM_IOERROR, "mpopstream_get returned NEED or IOERROR") ;
    record(tr, &ev) ;
  } while (e != MPOPSTREAM_ERROR && e != MPOPSTREAM_END) ;
}

 /* The writers, from a transcript of a complete stream */
static void rewrite (stralloc *out, stralloc const *t)
{
  size_t pos = 0 ;
  if (!mpopstream_put_banner(out)) abort() ;
  while (pos < t->len)
  {
    char c = t->s[pos++] ;
    if (c == 'M')
    {
      char const *uid = t->s + pos ;
      uint64_t size, num ;
      char const *extra ;
      char const *x[MPOPSTREAM_HEADERMAX] ;
      unsigned int nx = 0 ;
      stralloc lines = STRALLOC_ZERO ;
      pos += strlen(uid) + 1 ;
      pos += uint64_scan(t->s + pos, &size) + 1 ;
      pos += uint64_scan(t->s + pos, &num) + 1 ;
      extra = t->s + pos ;
      pos += strlen(extra) + 1 ;
      put(&lines, extra, strlen(extra) + 1) ;
      for (char *p = lines.s ; *p ; )
      {
        char *nl = strchr(p, '\n') ;
        *nl = 0 ;
        x[nx++] = p ;
        p = nl + 1 ;
      }
      FUZZ_ASSERT(mpopstream_put_header(out, uid, size, (unsigned int)num, x, nx), "the writer refuses a header the reader accepted") ;
      stralloc_free(&lines) ;
    }
    else if (c == 'D')
    {
      uint64_t len ;
      pos += uint64_scan(t->s + pos, &len) + 1 ;
      if (!mpopstream_put_data(out, t->s + pos, len)) abort() ;
      pos += len ;
    }
    else if (c == 'E') { if (!mpopstream_put_end(out)) abort() ; }
    else if (c == 'Z') { if (!mpopstream_put_trailer(out)) abort() ; }
    else FUZZ_ASSERT(0, "bad transcript") ;
  }
}

static void check_same (transcript const *a, transcript const *b, char const *what)
{
  FUZZ_ASSERT(a->t.len == b->t.len && !memcmp(a->t.s, b->t.s, a->t.len), what) ;
}

static void transcript_free (transcript *tr)
{
  stralloc_free(&tr->t) ;
  stralloc_free(&tr->data) ;
}

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  transcript whole = TRANSCRIPT_ZERO, cut = TRANSCRIPT_ZERO, got = TRANSCRIPT_ZERO ;
  fuzz_rng one = { .state = 0, .mode = 0 }, rng ;
  char const *s = (char const *)data + 1 ;
  if (!size) return 0 ;
  fuzz_rng_init(&rng, data, 1) ;
  if (!rng.mode) rng.mode = 1 ;
  read_fed(&whole, s, size - 1, &one) ;
  read_fed(&cut, s, size - 1, &rng) ;
  check_same(&whole, &cut, "feeding in pieces changes the events") ;
  fuzz_rng_init(&rng, data, 1) ;
  read_got(&got, s, size - 1, &rng) ;
  check_same(&whole, &got, "mpopstream_get gives other events") ;
  if (whole.last == MPOPSTREAM_END)
  {
    stralloc out = STRALLOC_ZERO ;
    transcript again = TRANSCRIPT_ZERO ;
    rewrite(&out, &whole.t) ;
    read_fed(&again, out.s, out.len, &one) ;
    check_same(&whole, &again, "a stream written from its events reads back differently") ;
    transcript_free(&again) ;
    stralloc_free(&out) ;
  }
  transcript_free(&whole) ;
  transcript_free(&cut) ;
  transcript_free(&got) ;
  return 0 ;
}
