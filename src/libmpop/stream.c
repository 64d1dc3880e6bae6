/* ISC license. */

#include <errno.h>
#include <string.h>
#include <sys/uio.h>

#include <skalibs/uint64.h>
#include <skalibs/types.h>
#include <skalibs/buffer.h>
#include <skalibs/stralloc.h>

#include <mpop/stream.h>

 /* Writers */

static int put_netstring (stralloc *sa, char const *s, size_t len)
{
  char fmt[UINT64_FMT] ;
  size_t n = uint64_fmt(fmt, len) ;
  size_t oldlen = sa->len ;
  if (!stralloc_readyplus(sa, n + len + 2)) return 0 ;
  if (!stralloc_catb(sa, fmt, n) || !stralloc_catb(sa, ":", 1)
   || !stralloc_catb(sa, s, len) || !stralloc_catb(sa, ",", 1))
  {
    sa->len = oldlen ;
    return 0 ;
  }
  return 1 ;
}

int mpopstream_put_banner (stralloc *sa)
{
  return put_netstring(sa, MPOPSTREAM_BANNER, sizeof(MPOPSTREAM_BANNER) - 1) ;
}

static int uid_ok (char const *uid)
{
  if (!*uid) return 0 ;
  for (; *uid ; uid++)
    if ((unsigned char)*uid < 0x20 || *uid == 0x7f) return 0 ;
  return 1 ;
}

static int extra_ok (char const *s)
{
  char const *eq = strchr(s, '=') ;
  if (!eq || eq == s || strchr(s, '\n')) return 0 ;
  if (!strncmp(s, "uid=", 4) || !strncmp(s, "size=", 5) || !strncmp(s, "num=", 4)) return 0 ;
  return 1 ;
}

int mpopstream_put_header (stralloc *sa, char const *uid, uint64_t size, unsigned int num, char const *const *extra, unsigned int nextra)
{
  stralloc h = STRALLOC_ZERO ;
  char fmt[UINT64_FMT] ;
  int r = 0 ;
  if (!uid_ok(uid)) goto inval ;
  for (unsigned int i = 0 ; i < nextra ; i++) if (!extra_ok(extra[i])) goto inval ;
  if (!stralloc_cats(&h, "msg\nuid=") || !stralloc_cats(&h, uid)
   || !stralloc_cats(&h, "\nsize=") || !stralloc_catb(&h, fmt, uint64_fmt(fmt, size))
   || !stralloc_cats(&h, "\nnum=") || !stralloc_catb(&h, fmt, uint_fmt(fmt, num))
   || !stralloc_catb(&h, "\n", 1)) goto end ;
  for (unsigned int i = 0 ; i < nextra ; i++)
    if (!stralloc_cats(&h, extra[i]) || !stralloc_catb(&h, "\n", 1)) goto end ;
  if (h.len > MPOPSTREAM_HEADERMAX) goto inval ;
  r = put_netstring(sa, h.s, h.len) ;
  goto end ;
 inval:
  errno = EINVAL ;
 end:
  stralloc_free(&h) ;
  return r ;
}

int mpopstream_msg_value (mpopstream_msg const *m, char const *key, stralloc *sa)
{
  size_t klen = strlen(key) ;
  for (size_t i = 0 ; i < m->extralen ;)
  {
    char const *line = m->extra + i ;
    char const *nl = memchr(line, '\n', m->extralen - i) ;
    if (!nl) break ;
    if ((size_t)(nl - line) > klen && !memcmp(line, key, klen) && line[klen] == '=')
    {
      sa->len = 0 ;
      return stralloc_catb(sa, line + klen + 1, nl - line - klen - 1) && stralloc_0(sa) ? 1 : -1 ;
    }
    i = nl + 1 - m->extra ;
  }
  return 0 ;
}

int mpopstream_put_data (stralloc *sa, char const *s, size_t len)
{
  size_t oldlen = sa->len ;
  while (len)
  {
    size_t n = len > MPOPSTREAM_CHUNK ? MPOPSTREAM_CHUNK : len ;
    if (!put_netstring(sa, s, n))
    {
      sa->len = oldlen ;
      return 0 ;
    }
    s += n ; len -= n ;
  }
  return 1 ;
}

int mpopstream_put_end (stralloc *sa)
{
  return put_netstring(sa, "", 0) ;
}

int mpopstream_put_trailer (stralloc *sa)
{
  return put_netstring(sa, "end", 3) ;
}


 /* Reader */

enum { PH_BANNER, PH_IDLE, PH_MSG, PH_DONE, PH_ERROR } ;
enum { SUB_LEN, SUB_PAYLOAD, SUB_COMMA } ;

#define DIGITS_MAX 7    /* enough for MPOPSTREAM_CHUNK */

void mpopstream_reader_init (mpopstream_reader *r)
{
  r->phase = PH_BANNER ;
  r->sub = SUB_LEN ;
  r->ndigits = 0 ;
  r->empty = 0 ;
  r->len = 0 ;
  r->hlen = 0 ;
  r->msg.uid = 0 ;
  r->msg.size = 0 ;
  r->msg.num = 0 ;
  r->msg.extra = 0 ;
  r->msg.extralen = 0 ;
  r->err = 0 ;
}

static int fail (mpopstream_reader *r, mpopstream_event *ev, char const *why)
{
  r->phase = PH_ERROR ;
  r->err = why ;
  ev->type = MPOPSTREAM_ERROR ;
  ev->err = why ;
  return MPOPSTREAM_ERROR ;
}

static int emit (mpopstream_event *ev, int type)
{
  ev->type = type ;
  return type ;
}

static size_t maxlen (mpopstream_reader const *r)
{
  return r->phase == PH_MSG ? MPOPSTREAM_CHUNK : MPOPSTREAM_HEADERMAX ;
}

static int scan_number (char const *s, size_t len, uint64_t *u)
{
  if (!len || len > 20 || (len > 1 && s[0] == '0')) return 0 ;
  return uint64_scan(s, u) == len ;
}

 /* hdr[0..hlen) is "msg\n" then key=value lines: fills r->msg */
static char const *parse_header (mpopstream_reader *r)
{
  char const *s = r->hdr + 4 ;
  char const *end = r->hdr + r->hlen ;
  size_t ulen = 0, flen = 0 ;
  char const *uid = 0 ;
  int hassize = 0, hasnum = 0 ;
  if (memchr(r->hdr, 0, r->hlen)) return "NUL byte in a message header" ;
  if (r->hlen && end[-1] != '\n') return "unterminated line in a message header" ;
  while (s < end)
  {
    char const *nl = memchr(s, '\n', end - s) ;
    char const *eq = memchr(s, '=', nl - s) ;
    size_t klen, vlen ;
    char const *v ;
    if (!eq || eq == s) return "bad line in a message header" ;
    klen = eq - s ; v = eq + 1 ; vlen = nl - v ;
    if (klen == 3 && !memcmp(s, "uid", 3))
    {
      if (uid) return "duplicate uid in a message header" ;
      if (!vlen) return "empty uid in a message header" ;
      for (size_t i = 0 ; i < vlen ; i++)
        if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f) return "control character in a uid" ;
      uid = v ; ulen = vlen ;
    }
    else if (klen == 4 && !memcmp(s, "size", 4))
    {
      char tmp[21] ;
      if (hassize) return "duplicate size in a message header" ;
      if (vlen > 20) return "bad size in a message header" ;
      memcpy(tmp, v, vlen) ; tmp[vlen] = 0 ;
      if (!scan_number(tmp, vlen, &r->msg.size)) return "bad size in a message header" ;
      hassize = 1 ;
    }
    else if (klen == 3 && !memcmp(s, "num", 3))
    {
      char tmp[21] ;
      uint64_t u ;
      if (hasnum) return "duplicate num in a message header" ;
      if (vlen > 20) return "bad num in a message header" ;
      memcpy(tmp, v, vlen) ; tmp[vlen] = 0 ;
      if (!scan_number(tmp, vlen, &u) || u > (unsigned int)-1) return "bad num in a message header" ;
      r->msg.num = u ;
      hasnum = 1 ;
    }
    else
    {
      memcpy(r->fields + flen, s, nl + 1 - s) ;
      flen += nl + 1 - s ;
    }
    s = nl + 1 ;
  }
  if (!uid || !hassize || !hasnum) return "message header without uid, size or num" ;
  r->msg.extra = r->fields ;
  r->msg.extralen = flen ;
  memcpy(r->fields + flen, uid, ulen) ;
  r->fields[flen + ulen] = 0 ;
  r->msg.uid = r->fields + flen ;
  return 0 ;
}

 /* A complete small netstring (banner, header or trailer) is in hdr */
static int small_done (mpopstream_reader *r, mpopstream_event *ev)
{
  if (r->phase == PH_BANNER)
  {
    if (r->hlen == sizeof(MPOPSTREAM_BANNER) - 1 && !memcmp(r->hdr, MPOPSTREAM_BANNER, r->hlen))
    {
      r->phase = PH_IDLE ;
      return MPOPSTREAM_NEED ;
    }
    return fail(r, ev, r->hlen > 12 && !memcmp(r->hdr, "mpop-stream ", 12) ? "unsupported mpop-stream version" : "not an mpop-stream (bad banner)") ;
  }
  if (r->hlen == 3 && !memcmp(r->hdr, "end", 3))
  {
    r->phase = PH_DONE ;
    return emit(ev, MPOPSTREAM_END) ;
  }
  if (r->hlen >= 4 && !memcmp(r->hdr, "msg\n", 4))
  {
    char const *why = parse_header(r) ;
    if (why) return fail(r, ev, why) ;
    r->phase = PH_MSG ;
    ev->msg = &r->msg ;
    return emit(ev, MPOPSTREAM_MSG) ;
  }
  return fail(r, ev, "expected a message header or the trailer") ;
}

int mpopstream_feed (mpopstream_reader *r, char const *s, size_t len, size_t *used, mpopstream_event *ev)
{
  size_t i = 0 ;
  int e = MPOPSTREAM_NEED ;
  ev->s = 0 ; ev->len = 0 ; ev->msg = 0 ; ev->err = 0 ;
  if (r->phase == PH_ERROR) { *used = 0 ; ev->err = r->err ; return emit(ev, MPOPSTREAM_ERROR) ; }
  while (i < len && e == MPOPSTREAM_NEED)
  {
    if (r->phase == PH_DONE) { e = fail(r, ev, "data after the end of the stream") ; break ; }
    switch (r->sub)
    {
      case SUB_LEN :
      {
        char c = s[i] ;
        if (c >= '0' && c <= '9')
        {
          if (r->ndigits && !r->len) { e = fail(r, ev, "bad netstring length (leading zero)") ; break ; }
          if (++r->ndigits > DIGITS_MAX) { e = fail(r, ev, "netstring too long") ; break ; }
          r->len = r->len * 10 + (c - '0') ;
          if (r->len > maxlen(r)) { e = fail(r, ev, "netstring too long") ; break ; }
          i++ ;
        }
        else if (c == ':' && r->ndigits)
        {
          i++ ;
          r->ndigits = 0 ;
          r->hlen = 0 ;
          r->empty = !r->len ;
          if (r->phase == PH_MSG && !r->len) r->sub = SUB_COMMA ;
          else if (r->phase != PH_MSG && !r->len) { e = fail(r, ev, r->phase == PH_BANNER ? "not an mpop-stream (bad banner)" : "empty netstring outside a message") ; break ; }
          else r->sub = SUB_PAYLOAD ;
        }
        else e = fail(r, ev, r->phase == PH_BANNER && !r->ndigits ? "not an mpop-stream (bad banner)" : "bad netstring length") ;
        break ;
      }
      case SUB_PAYLOAD :
      {
        size_t n = len - i < r->len ? len - i : r->len ;
        if (r->phase == PH_MSG)
        {
          ev->s = s + i ;
          ev->len = n ;
          e = emit(ev, MPOPSTREAM_DATA) ;
        }
        else
        {
          memcpy(r->hdr + r->hlen, s + i, n) ;
          r->hlen += n ;
        }
        i += n ;
        r->len -= n ;
        if (!r->len) r->sub = SUB_COMMA ;
        break ;
      }
      case SUB_COMMA :
        if (s[i] != ',') { e = fail(r, ev, "bad netstring terminator") ; break ; }
        i++ ;
        r->sub = SUB_LEN ;
        if (r->phase != PH_MSG) e = small_done(r, ev) ;
        else if (r->empty)
        {
          r->phase = PH_IDLE ;
          e = emit(ev, MPOPSTREAM_MSGEND) ;
        }
        break ;
    }
  }
  *used = i ;
  if (e == MPOPSTREAM_NEED) emit(ev, e) ;
  return e ;
}

int mpopstream_eof (mpopstream_reader *r, mpopstream_event *ev)
{
  ev->s = 0 ; ev->len = 0 ; ev->msg = 0 ; ev->err = 0 ;
  switch (r->phase)
  {
    case PH_DONE : return emit(ev, MPOPSTREAM_END) ;
    case PH_ERROR : ev->err = r->err ; return emit(ev, MPOPSTREAM_ERROR) ;
    case PH_MSG : return fail(r, ev, MPOPSTREAM_ERR_CUT) ;
    case PH_BANNER :
      if (r->sub == SUB_LEN && !r->ndigits) return fail(r, ev, "empty stream") ;
      return fail(r, ev, "unexpected end of stream (no trailer)") ;
    default : return fail(r, ev, "unexpected end of stream (no trailer)") ;
  }
}

int mpopstream_get (mpopstream_reader *r, buffer *b, mpopstream_event *ev)
{
  for (;;)
  {
    struct iovec v[2] ;
    size_t used ;
    int e ;
    buffer_rpeek(b, v) ;
    if (!v[0].iov_len)
    {
      ssize_t n = buffer_fill(b) ;
      if (n < 0)
      {
        ev->s = 0 ; ev->len = 0 ; ev->msg = 0 ; ev->err = "read error" ;
        return emit(ev, MPOPSTREAM_IOERROR) ;
      }
      if (!n) return mpopstream_eof(r, ev) ;
      continue ;
    }
    e = mpopstream_feed(r, v[0].iov_base, v[0].iov_len, &used, ev) ;
    buffer_rseek(b, used) ;
    if (e != MPOPSTREAM_NEED) return e ;
  }
}

int mpopstream_detect (char const *s, size_t len)
{
  static char const banner[] = "13:" MPOPSTREAM_BANNER "," ;
  size_t n = sizeof(banner) - 1 ;
  if (len < n) return memcmp(s, banner, len) ? 0 : -1 ;
  return !memcmp(s, banner, n) ;
}
