/* ISC license. */

 /* libFuzzer target for the POP3 multi-line readers: pop3_body_read (RETR
    and TOP bodies, streamed) and pop3_getline (LIST, UIDL, CAPA), with the
    status lines around them. The input is two bytes of choices (how the
    server's bytes are cut into reads, how big the caller's buffer is at
    each call) then what the server says: a status line, a body if it was
    +OK, a status line, a multi-line reply if it was +OK, a status line.
    Everything is compared with a plain line-by-line model of RFC 1939
    working on the whole input at once, so the properties are:
    - the same bytes come out whatever the read and buffer sizes (a CR or a
      dot at the edge of a read changes nothing);
    - CRLF and LF end lines, a CR before a CRLF stays, the one dot of a
      stuffed line goes, "." alone ends the reply, and the reply is
      consumed exactly: the next status line is intact;
    - a status or list line of POP3_LINE_MAX bytes or more is refused, a
      body line of any length is not;
    - end of input in a reply is an error (74), after which what came out
      is a prefix of the model's output; a call never returns more than
      asked, and a finished body stays finished. */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <skalibs/stralloc.h>

#include <mpop/account.h>
#include <mpop/pop3.h>

#include "harness.h"

 /* The model */

typedef struct model_s model ;
struct model_s
{
  char const *s ;
  size_t len ;
  size_t pos ;
} ;

 /* The next physical line, without its LF: 1, or 0 at the end of input
    with what is left in *line */
static int next_line (model *m, char const **line, size_t *len)
{
  char const *nl = memchr(m->s + m->pos, '\n', m->len - m->pos) ;
  *line = m->s + m->pos ;
  *len = nl ? (size_t)(nl - *line) : m->len - m->pos ;
  m->pos += *len + !!nl ;
  return !!nl ;
}

static void strip_cr (char const *line, size_t *len)
{
  if (*len && line[*len - 1] == '\r') (*len)-- ;
}

static int model_status (model *m, stralloc *sa)
{
  char const *line ;
  size_t len ;
  if (!next_line(m, &line, &len) || len >= POP3_LINE_MAX) return -1 ;
  strip_cr(line, &len) ;
  if (!len || (line[0] != '+' && line[0] != '-')) return -1 ;
  if (!stralloc_copyb(sa, line, len)) abort() ;
  return line[0] == '+' ;
}

 /* 0 at the end of the body, -1 at the end of input */
static int model_body (model *m, stralloc *out)
{
  for (;;)
  {
    char const *line ;
    size_t len ;
    int whole = next_line(m, &line, &len) ;
    if (whole) strip_cr(line, &len) ;
    if (whole && len == 1 && line[0] == '.') return 0 ;
    if (len && line[0] == '.') { line++ ; len-- ; }
    if (!stralloc_catb(out, line, len)) abort() ;
    if (!whole) return -1 ;
    if (!stralloc_catb(out, "\n", 1)) abort() ;
  }
}

static int model_getline (model *m, stralloc *sa)
{
  char const *line ;
  size_t len ;
  if (!next_line(m, &line, &len) || len >= POP3_LINE_MAX) return -1 ;
  strip_cr(line, &len) ;
  if (len == 1 && line[0] == '.') return 0 ;
  if (len && line[0] == '.') { line++ ; len-- ; }
  if (!stralloc_copyb(sa, line, len)) abort() ;
  return 1 ;
}

 /* The comparisons */

static int same (stralloc const *a, char const *s, size_t len)
{
  return a->len == len && (!len || !memcmp(a->s, s, len)) ;
}

static int status (pop3 *p, model *m)
{
  stralloc want = STRALLOC_ZERO ;
  int r = pop3_status(p) ;
  int w = model_status(m, &want) ;
  FUZZ_ASSERT(r == w, "status line read differently") ;
  if (r >= 0) FUZZ_ASSERT(same(&want, p->line.s, p->line.len), "status line differs") ;
  else FUZZ_ASSERT(p->code == EX_IOERR || p->code == EX_PROTOCOL, "status line error with an unexpected code") ;
  stralloc_free(&want) ;
  return r ;
}

static int body (pop3 *p, model *m, fuzz_rng *sizes)
{
  stralloc want = STRALLOC_ZERO ;
  stralloc got = STRALLOC_ZERO ;
  char buf[4096] ;
  ssize_t r ;
  int w = model_body(m, &want) ;
  pop3_body_start(p) ;
  for (;;)
  {
    size_t max = sizes->mode & 1 ? 1 + fuzz_rand(sizes) % 17 : 1 + fuzz_rand(sizes) % sizeof(buf) ;
    r = pop3_body_read(p, buf, max) ;
    if (r <= 0) break ;
    FUZZ_ASSERT((size_t)r <= max, "pop3_body_read returned more than asked") ;
    if (!stralloc_catb(&got, buf, r)) abort() ;
  }
  FUZZ_ASSERT(r == w, "body ended differently") ;
  if (!r)
  {
    FUZZ_ASSERT(same(&got, want.s, want.len), "body differs") ;
    FUZZ_ASSERT(!pop3_body_read(p, buf, sizeof(buf)), "a finished body gave more") ;
  }
  else
  {
    FUZZ_ASSERT(p->code == EX_IOERR, "end of input in a body is not an I/O error") ;
    FUZZ_ASSERT(got.len <= want.len && (!got.len || !memcmp(got.s, want.s, got.len)), "body before the end of input differs") ;
  }
  stralloc_free(&want) ;
  stralloc_free(&got) ;
  return r ;
}

static int multiline (pop3 *p, model *m)
{
  stralloc want = STRALLOC_ZERO ;
  stralloc got = STRALLOC_ZERO ;
  int r ;
  do
  {
    int w = model_getline(m, &want) ;
    r = pop3_getline(p, &got) ;
    FUZZ_ASSERT(r == w, "multi-line reply read differently") ;
    if (r > 0) FUZZ_ASSERT(same(&want, got.s, got.len) && !got.s[got.len], "multi-line reply line differs") ;
  } while (r > 0) ;
  if (r < 0) FUZZ_ASSERT(p->code == EX_IOERR || p->code == EX_PROTOCOL, "multi-line reply error with an unexpected code") ;
  stralloc_free(&want) ;
  stralloc_free(&got) ;
  return r ;
}

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  static account a = { 0 } ;
  pop3 p ;
  fuzz_rng reads, sizes ;
  model m ;
  if (size < 2) return 0 ;
  fuzz_rng_init(&reads, data, 1) ;
  fuzz_rng_init(&sizes, data + 1, 1) ;
  m.s = (char const *)data + 2 ;
  m.len = size - 2 ;
  m.pos = 0 ;
  fuzz_server(m.s, m.len, &reads) ;
  fuzz_pop3_begin(&p, &a) ;
  if (status(&p, &m) == 1 && !body(&p, &m, &sizes)
   && status(&p, &m) == 1 && !multiline(&p, &m))
    status(&p, &m) ;
  fuzz_pop3_end(&p) ;
  return 0 ;
}
