/* ISC license. */

#include <netdb.h>
#include <pwd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <skalibs/buffer.h>
#include <skalibs/stralloc.h>
#include <skalibs/types.h>

#include <mpop/config.h>
#include <mpop/err.h>

#include "pop3fetch.h"

 /* Human output never stops a retrieval: write errors are ignored. */

static int line_open = 0 ;

static void put (session const *s, char const *x)
{
  buffer_puts(s->out, x) ;
}

static void put_uint (session const *s, uint64_t n)
{
  char fmt[UINT64_FMT] ;
  buffer_put(s->out, fmt, uint64_fmt(fmt, n)) ;
}

 /* As mpop: "%.2f GiB|MiB|KiB" (rounded half to even, as printf does for
    these exact binary fractions), else "N bytes", "1 byte". */
size_t fmt_size (char *s, uint64_t n)
{
  static struct { uint64_t unit ; char const *name ; } const units[3] =
  {
    { 1073741824, " GiB" },
    { 1048576, " MiB" },
    { 1024, " KiB" }
  } ;
  size_t len ;
  for (unsigned int i = 0 ; i < 3 ; i++)
  {
    uint64_t unit = units[i].unit, q, h, rem ;
    if (n < unit) continue ;
    q = n / unit ;
    h = (n % unit) * 100 / unit ;
    rem = (n % unit) * 100 % unit ;
    if (2 * rem > unit || (2 * rem == unit && h & 1)) h++ ;
    if (h == 100) { q++ ; h = 0 ; }
    len = uint64_fmt(s, q) ;
    s[len++] = '.' ;
    s[len++] = '0' + h / 10 ;
    s[len++] = '0' + h % 10 ;
    memcpy(s + len, units[i].name, 5) ;
    return len + 4 ;
  }
  if (n == 1) { memcpy(s, "1 byte", 7) ; return 6 ; }
  len = uint64_fmt(s, n) ;
  memcpy(s + len, " bytes", 7) ;
  return len + 6 ;
}

static void put_size (session const *s, uint64_t n)
{
  char fmt[FMT_SIZE] ;
  buffer_put(s->out, fmt, fmt_size(fmt, n)) ;
}

static void put_count (session const *s, uint64_t count, uint64_t size)
{
  if (!count) { put(s, "no messages") ; return ; }
  put_uint(s, count) ;
  put(s, count == 1 ? " message" : " messages") ;
  if (size)
  {
    put(s, " in ") ;
    put_size(s, size) ;
  }
}

void out_status (session const *s)
{
  uint64_t newcount = 0, newsize = 0 ;
  for (unsigned int i = 0 ; i < s->n ; i++)
    if (!(s->m[i].flags & M_OLD))
    {
      newcount++ ;
      newsize += s->m[i].size ;
    }
  put(s, s->user ? s->user : "") ;
  put(s, " at ") ;
  put(s, s->host) ;
  put(s, ":\n") ;
  if (!s->n) put(s, "no messages") ;
  else
  {
    put(s, "new: ") ;
    put_count(s, newcount, newsize) ;
    put(s, ", total: ") ;
    put_count(s, s->n, s->total) ;
  }
  put(s, "\n") ;
  buffer_flush(s->out) ;
}

static void put_which (session const *s, unsigned int i)
{
  put(s, " message ") ;
  put_uint(s, i + 1) ;
  put(s, " of ") ;
  put_uint(s, s->n) ;
}

void out_policy (session const *s, unsigned int i, char const *verb, char const *reason)
{
  put(s, verb) ;
  put_which(s, i) ;
  put(s, " (reason: ") ;
  put(s, reason) ;
  put(s, ")\n") ;
  buffer_flush(s->out) ;
}

 /* On a terminal, mpop's animation: "  0%" then the percentage rewritten
    in place with backspaces, "100" at the end. Elsewhere one plain line
    per message, written when the message is complete. */
void out_progress_start (session const *s, unsigned int i)
{
  put(s, "retrieving") ;
  put_which(s, i) ;
  if (s->m[i].size)
  {
    put(s, " (") ;
    put_size(s, s->m[i].size) ;
    put(s, ")") ;
  }
  put(s, ": ") ;
  line_open = 1 ;
  if (!s->tty) return ;
  put(s, "  0%\b\b\b\b") ;
  buffer_flush(s->out) ;
}

void out_progress (session const *s, unsigned int *pct, uint64_t got, uint64_t size)
{
  char fmt[UINT_FMT] ;
  unsigned int p ;
  size_t len ;
  if (!s->tty || !size) return ;
  p = got >= size ? 99 : got * 100 / size ;
  if (p > 99) p = 99 ;
  if (p <= *pct) return ;
  *pct = p ;
  len = uint_fmt(fmt, p) ;
  for (size_t i = len ; i < 3 ; i++) put(s, " ") ;
  buffer_put(s->out, fmt, len) ;
  put(s, "\b\b\b") ;
  buffer_flush(s->out) ;
}

void out_progress_end (session const *s, int ok)
{
  if (!line_open) return ;
  line_open = 0 ;
  put(s, !ok ? "\n" : s->tty ? "100\n" : "100%\n") ;
  buffer_flush(s->out) ;
}

void out_flush (session const *s)
{
  out_progress_end(s, 0) ;
  buffer_flush(s->out) ;
}

 /* -m: what was recorded, and what could not be */
void out_adopted (session const *s, unsigned int marked, unsigned int nouid)
{
  if (!marked) put(s, "no new messages to mark as retrieved\n") ;
  else
  {
    put(s, "marked ") ;
    put_uint(s, marked) ;
    put(s, marked == 1 ? " message" : " messages") ;
    put(s, " as retrieved, without retrieving them\n") ;
  }
  if (nouid)
  {
    put_uint(s, nouid) ;
    put(s, nouid == 1 ? " message has no usable UID and stays new\n" : " messages have no usable UID and stay new\n") ;
  }
  buffer_flush(s->out) ;
}

 /* Received: from HOST (CANON [ADDR])
            by LOCALHOST (mpop-VERSION) with POP3
            for <LOCALUSER>; DATE */

static void local_host (stralloc *sa)
{
  char name[256] ;
  struct addrinfo hints, *ai = 0 ;
  if (gethostname(name, sizeof(name) - 1) < 0 || !name[0])
  {
    if (!stralloc_cats(sa, "localhost")) mpop_dienomem() ;
    return ;
  }
  name[sizeof(name) - 1] = 0 ;
  memset(&hints, 0, sizeof(hints)) ;
  hints.ai_flags = AI_CANONNAME ;
  hints.ai_socktype = SOCK_STREAM ;
  if (!getaddrinfo(name, 0, &hints, &ai) && ai && ai->ai_canonname && ai->ai_canonname[0])
  {
    if (!stralloc_cats(sa, ai->ai_canonname)) mpop_dienomem() ;
  }
  else if (!stralloc_cats(sa, name)) mpop_dienomem() ;
  if (ai) freeaddrinfo(ai) ;
}

static char const *local_user_raw (void)
{
  char const *x = getenv("USER") ;
  struct passwd *pw ;
  if (x && *x) return x ;
  x = getenv("LOGNAME") ;
  if (x && *x) return x ;
  x = getlogin() ;
  if (x && *x) return x ;
  pw = getpwuid(getuid()) ;
  if (pw && pw->pw_name && pw->pw_name[0]) return pw->pw_name ;
  return "unknown" ;
}

static void local_user (stralloc *sa)
{
  for (char const *x = local_user_raw() ; *x ; x++)
  {
    char c = *x ;
    if (c == ' ' || (c >= '\t' && c <= '\r')) c = '-' ;
    else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) c = '_' ;
    if (!stralloc_catb(sa, &c, 1)) mpop_dienomem() ;
  }
}

void received_init (session *s)
{
  stralloc *sa = &s->received ;
  stralloc const *canon = &s->p.c.canon ;
  stralloc const *addr = &s->p.c.addr ;
  conn_lookup_canon(&s->p.c) ;
  sa->len = 0 ;
  if (!stralloc_cats(sa, "Received: from ") || !stralloc_cats(sa, s->host)) mpop_dienomem() ;
  if (canon->len || addr->len)
  {
    if (!stralloc_cats(sa, " (")) mpop_dienomem() ;
    if (canon->len && !stralloc_catb(sa, canon->s, canon->len)) mpop_dienomem() ;
    if (canon->len && addr->len && !stralloc_cats(sa, " ")) mpop_dienomem() ;
    if (addr->len && (!stralloc_cats(sa, "[") || !stralloc_catb(sa, addr->s, addr->len) || !stralloc_cats(sa, "]"))) mpop_dienomem() ;
    if (!stralloc_cats(sa, ")")) mpop_dienomem() ;
  }
  if (!stralloc_cats(sa, "\n\tby ")) mpop_dienomem() ;
  local_host(sa) ;
  if (!stralloc_cats(sa, " (mpop-" MPOP_VERSION ") with POP3\n\tfor <")) mpop_dienomem() ;
  local_user(sa) ;
  if (!stralloc_cats(sa, ">; ")) mpop_dienomem() ;
}

 /* The date is RFC 2822 local time, English names (the C locale) */
int received_put (session const *s, stralloc *sa)
{
  char date[64] ;
  struct tm tm ;
  time_t now = time(0) ;
  size_t len ;
  if (!localtime_r(&now, &tm)) return 0 ;
  len = strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm) ;
  if (!len) return 0 ;
  return stralloc_catb(sa, s->received.s, s->received.len)
      && stralloc_catb(sa, date, len)
      && stralloc_catb(sa, "\n", 1) ;
}
