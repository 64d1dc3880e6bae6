/* ISC license. */

#include <string.h>
#include <sysexits.h>

#include <skalibs/buffer.h>
#include <skalibs/stralloc.h>
#include <skalibs/types.h>

#include <mpop/conn.h>
#include <mpop/err.h>
#include <mpop/pop3.h>
#include "pop3-internal.h"

enum { BODY_IDLE, BODY_BOL, BODY_MID, BODY_DONE } ;

 /* Errors */

int pop3_failmsg (pop3 *p, int code, char const *a, char const *b, char const *c)
{
  p->code = code ;
  p->msg.len = 0 ;
  if (!(stralloc_cats(&p->msg, a) && stralloc_cats(&p->msg, b ? b : "") && stralloc_cats(&p->msg, c ? c : "")
     && stralloc_0(&p->msg))) return pop3_nomem(p) ;
  p->msg.len-- ;
  return code ;
}

int pop3_nomem (pop3 *p)
{
  p->code = EX_OSERR ;
  p->srvmsg.len = 0 ;
  if (stralloc_copys(&p->msg, "cannot allocate memory") && stralloc_0(&p->msg)) p->msg.len-- ;
  return EX_OSERR ;
}

int pop3_connerr (pop3 *p)
{
  p->srvmsg.len = 0 ;
  return pop3_failmsg(p, p->c.code ? p->c.code : EX_SOFTWARE, p->c.err.len ? p->c.err.s : "unknown connection error", 0, 0) ;
}

static int set_srvmsg (pop3 *p)
{
  if (!stralloc_copyb(&p->srvmsg, p->line.s, p->line.len) || !stralloc_0(&p->srvmsg)) return 0 ;
  p->srvmsg.len-- ;
  mpop_sanitize(p->srvmsg.s, p->srvmsg.len) ;
  return 1 ;
}

int pop3_fail (pop3 *p, int code, char const *msg)
{
  p->srvmsg.len = 0 ;
  if (p->line.len && !set_srvmsg(p)) return pop3_nomem(p) ;
  return pop3_failmsg(p, code, msg, 0, 0) ;
}

static struct { char const *code ; int ex ; char const *why ; } const respcodes[] =
{
  { "AUTH", EX_NOPERM, 0 },
  { "SYS/PERM", EX_UNAVAILABLE, 0 },
  { "SYS/TEMP", EX_TEMPFAIL, "a temporary failure of the server" },
  { "IN-USE", EX_TEMPFAIL, "the mailbox is in use by another session" },
  { "LOGIN-DELAY", EX_TEMPFAIL, "the last login was too recent (LOGIN-DELAY)" },
} ;

static int respcode (pop3 const *p)
{
  char const *s = p->line.s ;
  size_t len = p->line.len, i = 0 ;
  if (!len || s[0] != '-') return -1 ;
  while (i < len && s[i] != ' ') i++ ;
  while (i < len && s[i] == ' ') i++ ;
  if (i >= len || s[i] != '[') return -1 ;
  i++ ;
  for (unsigned int k = 0 ; k < sizeof(respcodes) / sizeof(respcodes[0]) ; k++)
  {
    size_t n = strlen(respcodes[k].code) ;
    if (len - i > n && !strncmp(s + i, respcodes[k].code, n) && (s[i + n] == ']' || s[i + n] == '/'))
      return k ;
  }
  return -1 ;
}

int pop3_errcode (pop3 const *p, int dflt)
{
  int k = respcode(p) ;
  return k < 0 ? dflt : respcodes[k].ex ;
}

char const *pop3_errwhy (pop3 const *p)
{
  int k = respcode(p) ;
  return k < 0 ? 0 : respcodes[k].why ;
}

 /* Trace */

static void trace (buffer *b, int dir, char const *line, size_t len)
{
  buffer_puts(b, dir == POP3_TRACE_IN ? "<-- " : "--> ") ;
  buffer_put(b, line, len) ;
  buffer_putflush(b, "\n", 1) ;
}

void pop3_trace_stderr (pop3 *p, int dir, char const *line, size_t len)
{
  (void)p ;
  trace(buffer_2, dir, line, len) ;
}

void pop3_trace_stdout (pop3 *p, int dir, char const *line, size_t len)
{
  (void)p ;
  trace(buffer_1, dir, line, len) ;
}

 /* Output */

static int queue_line (pop3 *p, char const *cmd, char const *arg, char const *shown)
{
  size_t clen = strlen(cmd), alen = arg ? strlen(arg) : 0 ;
  char fmt[SIZE_FMT] ;
  int r ;
  if (clen + (arg ? 1 + alen : 0) > POP3_CMD_MAX)
  {
    fmt[size_fmt(fmt, POP3_CMD_MAX)] = 0 ;
    return pop3_failmsg(p, EX_DATAERR, "cannot send POP3 command because it is longer than ", fmt, " characters") ;
  }
  if (strpbrk(cmd, "\r\n") || (arg && strpbrk(arg, "\r\n")))
    return pop3_failmsg(p, EX_DATAERR, "cannot send POP3 command ", cmd, ": line break in its argument") ;
  if (p->trace)
  {
    stralloc t = STRALLOC_ZERO ;
    if (!stralloc_cats(&t, shown && !arg ? shown : cmd) || (arg && !(stralloc_catb(&t, " ", 1) && stralloc_cats(&t, shown ? shown : arg))))
    {
      stralloc_free(&t) ;
      return pop3_nomem(p) ;
    }
    (*p->trace)(p, POP3_TRACE_OUT, t.s, t.len) ;
    stralloc_free(&t) ;
  }
  r = conn_put(&p->c, cmd, clen) ;
  if (!r && arg) r = conn_put(&p->c, " ", 1) ;
  if (!r && arg) r = conn_put(&p->c, arg, alen) ;
  if (!r) r = conn_put(&p->c, "\r\n", 2) ;
  return r ? pop3_connerr(p) : 0 ;
}

int pop3_queue (pop3 *p, char const *cmd, char const *arg)
{
  return queue_line(p, cmd, arg, 0) ;
}

int pop3_queue_secret (pop3 *p, char const *cmd, char const *arg)
{
  return queue_line(p, cmd, arg, "********") ;
}

int pop3_queue_num (pop3 *p, char const *cmd, unsigned long n)
{
  char fmt[ULONG_FMT] ;
  fmt[ulong_fmt(fmt, n)] = 0 ;
  return queue_line(p, cmd, fmt, 0) ;
}

int pop3_flush (pop3 *p)
{
  return conn_flush(&p->c) ? pop3_connerr(p) : 0 ;
}

 /* Input */

 /* Reads more bytes into the buffer: 1, or -1 with the error set */
static int fill (pop3 *p, char const *eofmsg)
{
  ssize_t r ;
  if (p->inpos)
  {
    memmove(p->in, p->in + p->inpos, p->inlen - p->inpos) ;
    p->inlen -= p->inpos ;
    p->inpos = 0 ;
  }
  if (p->inlen == POP3_INSIZE) return -!!pop3_failmsg(p, EX_SOFTWARE, "POP3 input buffer full", 0, 0) ;
  r = conn_read(&p->c, p->in + p->inlen, POP3_INSIZE - p->inlen) ;
  if (r < 0) return -!!pop3_connerr(p) ;
  if (!r) { p->srvmsg.len = 0 ; return -!!pop3_failmsg(p, EX_IOERR, "network read error: ", eofmsg, 0) ; }
  p->inlen += r ;
  return 1 ;
}

 /* One raw line, CRLF or LF stripped, into sa: 1, or -1 */
static int raw_line (pop3 *p, stralloc *sa, char const *eofmsg)
{
  for (;;)
  {
    char *s = p->in + p->inpos ;
    size_t avail = p->inlen - p->inpos ;
    char *nl = memchr(s, '\n', avail) ;
    if (nl)
    {
      size_t len = nl - s ;
      p->inpos += len + 1 ;
      if (len >= POP3_LINE_MAX) break ;
      if (len && s[len - 1] == '\r') len-- ;
      if (!stralloc_copyb(sa, s, len) || !stralloc_0(sa)) return -!!pop3_nomem(p) ;
      sa->len-- ;
      return 1 ;
    }
    if (avail >= POP3_LINE_MAX) break ;
    if (fill(p, eofmsg) < 0) return -1 ;
  }
  {
    char fmt[SIZE_FMT] ;
    fmt[size_fmt(fmt, POP3_LINE_MAX)] = 0 ;
    p->srvmsg.len = 0 ;
    return -!!pop3_failmsg(p, EX_PROTOCOL, "POP3 server sent a line longer than ", fmt, " bytes") ;
  }
}

int pop3_status (pop3 *p)
{
  if (raw_line(p, &p->line, "the POP3 server closed the connection") < 0) return -1 ;
  if (p->trace) (*p->trace)(p, POP3_TRACE_IN, p->line.s, p->line.len) ;
  if (!p->line.len || (p->line.s[0] != '+' && p->line.s[0] != '-'))
  {
    pop3_fail(p, EX_PROTOCOL, p->line.len ? "POP3 server sent an invalid reply" : "POP3 server sent an empty reply") ;
    return -1 ;
  }
  if (p->line.s[0] == '+') { p->srvmsg.len = 0 ; return 1 ; }
  if (!set_srvmsg(p)) return -!!pop3_nomem(p) ;
  return 0 ;
}

int pop3_command (pop3 *p, char const *cmd, char const *arg)
{
  if (pop3_queue(p, cmd, arg) || pop3_flush(p)) return -1 ;
  return pop3_status(p) ;
}

int pop3_getline (pop3 *p, stralloc *line)
{
  if (raw_line(p, line, "the POP3 server closed the connection in the middle of a reply") < 0) return -1 ;
  if (p->trace) (*p->trace)(p, POP3_TRACE_IN, line->s, line->len) ;
  if (line->len && line->s[0] == '.')
  {
    if (line->len == 1) return 0 ;
    memmove(line->s, line->s + 1, line->len) ;
    line->len-- ;
  }
  return 1 ;
}

 /* Bodies: dot-unstuffing and CRLF to LF across any chunk boundary */

void pop3_body_start (pop3 *p)
{
  p->bodystate = BODY_BOL ;
  p->bodylines = 0 ;
}

#define BODY_EOF "the POP3 server closed the connection in the middle of a message"

 /* Inside a line: copies up to the line end (CRLF or LF, given as LF) or
    up to what fits, keeping back a CR that may start a CRLF not yet
    received. Returns the input bytes consumed. */
static size_t mid_line (pop3 *p, char const *s, size_t avail, char *buf, size_t max, size_t *n)
{
  size_t take = avail < max - *n ? avail : max - *n, k ;
  char const *nl = memchr(s, '\n', take) ;
  if (nl)
  {
    k = nl - s ;
    memcpy(buf + *n, s, k - (k && s[k - 1] == '\r')) ;
    *n += k - (k && s[k - 1] == '\r') ;
    buf[(*n)++] = '\n' ;
    p->bodylines++ ;
    p->bodystate = BODY_BOL ;
    return k + 1 ;
  }
  if (!take) return 0 ;
  k = take ;
  if (s[k - 1] == '\r')
  {
    if (k < avail && s[k] == '\n')
    {
      memcpy(buf + *n, s, k - 1) ;
      *n += k - 1 ;
      buf[(*n)++] = '\n' ;
      p->bodylines++ ;
      p->bodystate = BODY_BOL ;
      return k + 1 ;
    }
    if (k == avail) k-- ;
  }
  memcpy(buf + *n, s, k) ;
  *n += k ;
  return k ;
}

ssize_t pop3_body_read (pop3 *p, char *buf, size_t max)
{
  size_t n = 0 ;
  if (p->bodystate == BODY_DONE || p->bodystate == BODY_IDLE)
  {
    p->bodystate = BODY_IDLE ;
    return 0 ;
  }
  while (n < max)
  {
    char const *s = p->in + p->inpos ;
    size_t avail = p->inlen - p->inpos ;
    if (p->bodystate == BODY_BOL)
    {
      if (avail >= 1 && s[0] != '.') { p->bodystate = BODY_MID ; continue ; }
      if (avail >= 2 && s[1] == '\n') { p->inpos += 2 ; p->bodystate = BODY_DONE ; break ; }
      if (avail >= 3 && s[1] == '\r' && s[2] == '\n') { p->inpos += 3 ; p->bodystate = BODY_DONE ; break ; }
      if (avail >= 3 || (avail == 2 && s[1] != '\r')) { p->inpos++ ; p->bodystate = BODY_MID ; continue ; }
    }
    else
    {
      size_t i = mid_line(p, s, avail, buf, max, &n) ;
      p->inpos += i ;
      if (i) continue ;
    }
    if (n) break ;
    if (fill(p, BODY_EOF) < 0) return -1 ;
  }
  return n ;
}

int pop3_pending (pop3 const *p)
{
  return p->bodystate == BODY_DONE || p->inpos < p->inlen || conn_pending(&p->c) ;
}

 /* End */

int pop3_quit (pop3 *p)
{
  int r = pop3_command(p, "QUIT", 0) ;
  if (!r) pop3_fail(p, EX_PROTOCOL, "command QUIT failed") ;
  conn_close(&p->c) ;
  return r > 0 ? 0 : p->code ;
}

void pop3_drop (pop3 *p)
{
  conn_close(&p->c) ;
}

void pop3_free (pop3 *p)
{
  conn_close(&p->c) ;
  stralloc_free(&p->c.err) ;
  stralloc_free(&p->sasl) ;
  stralloc_free(&p->implementation) ;
  stralloc_free(&p->greeting) ;
  stralloc_free(&p->timestamp) ;
  stralloc_free(&p->msg) ;
  stralloc_free(&p->srvmsg) ;
  stralloc_free(&p->line) ;
  memset(p->in, 0, sizeof(p->in)) ;
  p->inpos = p->inlen = 0 ;
}
