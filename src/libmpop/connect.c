/* ISC license. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <netdb.h>
#include <sysexits.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <netinet/tcp.h>

#include <skalibs/djbunix.h>
#include <skalibs/fmtscan.h>
#include <skalibs/types.h>
#include <skalibs/stralloc.h>
#include <skalibs/tai.h>

#include <mpop/account.h>
#include <mpop/conn.h>
#include <mpop/settings.h>
#include "conn-internal.h"

static int set_peer (conn *c, char const *name, char const *port)
{
  c->peername.len = 0 ;
  if (!stralloc_cats(&c->peername, name)) return 0 ;
  if (port && !(stralloc_cats(&c->peername, ", port ") && stralloc_cats(&c->peername, port))) return 0 ;
  return stralloc_0(&c->peername) ? (c->peername.len--, 1) : 0 ;
}

static int open_ucspi (conn *c, char const *host)
{
  char const *ip = getenv("TCPREMOTEIP") ;
  if (fcntl(6, F_GETFD) < 0 || fcntl(7, F_GETFD) < 0)
    return conn_fail(c, EX_USAGE, "no connection on file descriptors 6 and 7 (UCSPI)") ;
  if (ndelay_on(6) < 0 || ndelay_on(7) < 0) return conn_failsys(c, EX_OSERR, "cannot set file descriptors 6 and 7 non-blocking") ;
  c->rfd = 6 ; c->wfd = 7 ;
  if (!set_peer(c, host ? host : "UCSPI connection", 0)) return conn_nomem(c) ;
  if (ip && !(stralloc_copys(&c->addr, ip) && stralloc_0(&c->addr) && (c->addr.len--, 1))) return conn_nomem(c) ;
  return 0 ;
}

static int open_unix (conn *c, char const *path)
{
  struct sockaddr_un sa ;
  tain deadline ;
  size_t len = strlen(path) ;
  int fd ;
  if (!set_peer(c, path, 0)) return conn_nomem(c) ;
  if (len >= sizeof(sa.sun_path)) return conn_fail(c, EX_TEMPFAIL, "cannot connect to ", path, ": socket path too long") ;
  memset(&sa, 0, sizeof(sa)) ;
  sa.sun_family = AF_UNIX ;
  memcpy(sa.sun_path, path, len + 1) ;
  fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0) ;
  if (fd < 0) return conn_failsys(c, EX_OSERR, "cannot create socket") ;
  conn_deadline(c, &deadline) ;
  if (!conn_connect_fd(fd, (struct sockaddr *)&sa, sizeof(sa), &deadline))
  {
    int r = conn_failsys(c, EX_TEMPFAIL, "cannot connect to ", path) ;
    fd_close(fd) ;
    return r ;
  }
  c->rfd = c->wfd = fd ;
  return 0 ;
}

static int resolve (conn *c, char const *host, char const *port, int flags, struct addrinfo **res)
{
  struct addrinfo hints ;
  int r ;
  memset(&hints, 0, sizeof(hints)) ;
  hints.ai_family = AF_UNSPEC ;
  hints.ai_socktype = SOCK_STREAM ;
  hints.ai_flags = flags ;
  r = getaddrinfo(host, port, &hints, res) ;
  if (!r) return 0 ;
  if (r == EAI_SYSTEM) return conn_failsys(c, EX_NOHOST, "cannot locate host ", host) ;
  return conn_fail(c, r == EAI_AGAIN ? EX_TEMPFAIL : EX_NOHOST, "cannot locate host ", host, ": ", gai_strerror(r)) ;
}

 /* Dotted quad as inet_pton reads it: four decimal numbers up to 255,
    without leading zeros */
static int scan_ip4 (char const *s, char *ip)
{
  for (unsigned int i = 0 ; i < 4 ; i++)
  {
    unsigned int v = 0, n = 0 ;
    while (s[n] >= '0' && s[n] <= '9' && n < 4) v = v * 10 + (s[n++] - '0') ;
    if (!n || n > 3 || v > 255 || (n > 1 && s[0] == '0')) return 0 ;
    ip[i] = (char)v ;
    s += n ;
    if (*s++ != (i < 3 ? '.' : 0)) return 0 ;
  }
  return 1 ;
}

 /* Plain IPv6 notation (hex digits and colons); other forms, such as an
    embedded dotted quad or a zone, are left to the libc */
static int scan_ip6 (char const *s, char *ip)
{
  size_t n = strlen(s) ;
  if (!n || n > 39 || s[strspn(s, "0123456789abcdefABCDEF:")]) return 0 ;
  return ip6_scan(s, ip) == n ;
}

unsigned int conn_ip_literal (char const *s, char *ip)
{
  if (scan_ip4(s, ip)) return 4 ;
  if (scan_ip6(s, ip)) return 16 ;
  return 0 ;
}

 /* A literal address and a numeric port need no resolver (nor the
    resolver's configuration files, nor its share of libc's pages) */
static int literal (char const *host, char const *port, struct addrinfo *ai, struct sockaddr_storage *ss)
{
  char ip[16] ;
  unsigned int p, iplen = conn_ip_literal(host, ip) ;
  size_t k = uint_scan(port, &p) ;
  if (!iplen || !k || port[k] || p > 65535) return 0 ;
  memset(ai, 0, sizeof(*ai)) ;
  memset(ss, 0, sizeof(*ss)) ;
  ai->ai_socktype = SOCK_STREAM ;
  ai->ai_addr = (struct sockaddr *)ss ;
  if (iplen == 4)
  {
    struct sockaddr_in *sin = (struct sockaddr_in *)ss ;
    sin->sin_family = AF_INET ;
    sin->sin_port = htons(p) ;
    memcpy(&sin->sin_addr, ip, 4) ;
    ai->ai_family = AF_INET ;
    ai->ai_addrlen = sizeof(*sin) ;
    return 1 ;
  }
  {
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss ;
    sin6->sin6_family = AF_INET6 ;
    sin6->sin6_port = htons(p) ;
    memcpy(&sin6->sin6_addr, ip, 16) ;
    ai->ai_family = AF_INET6 ;
    ai->ai_addrlen = sizeof(*sin6) ;
  }
  return 1 ;
}

static void remember_addr (conn *c, struct addrinfo const *ai, int canon)
{
  char buf[NI_MAXHOST] ;
  size_t n = 0 ;
  if (ai->ai_family == AF_INET) n = ip4_fmt(buf, (char const *)&((struct sockaddr_in const *)ai->ai_addr)->sin_addr) ;
  else if (ai->ai_family == AF_INET6) n = ip6_fmt(buf, (char const *)&((struct sockaddr_in6 const *)ai->ai_addr)->sin6_addr) ;
  if (n && stralloc_copyb(&c->addr, buf, n) && stralloc_0(&c->addr)) c->addr.len-- ;
  if (ai->ai_addrlen <= sizeof(c->peer))
  {
    memcpy(&c->peer, ai->ai_addr, ai->ai_addrlen) ;
    c->peerlen = ai->ai_addrlen ;
  }
  if (canon) conn_lookup_canon(c) ;
}

void conn_lookup_canon (conn *c)
{
  char buf[NI_MAXHOST] ;
  if (c->canon.len || !c->peerlen) return ;
  if (!getnameinfo((struct sockaddr const *)&c->peer, c->peerlen, buf, sizeof(buf), 0, 0, NI_NAMEREQD))
    if (stralloc_copys(&c->canon, buf) && stralloc_0(&c->canon)) c->canon.len-- ;
}

 /* One address: 0 connected, else the code with the error set */
static int try_addr (conn *c, struct addrinfo const *ai, struct addrinfo const *src, char const *srcname, char const *host, char const *port)
{
  tain deadline ;
  int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0) ;
  if (fd < 0) return conn_failsys(c, EX_OSERR, "cannot create socket") ;
  if (srcname)
  {
    struct addrinfo const *s = src ;
    while (s && s->ai_family != ai->ai_family) s = s->ai_next ;
    if (!s) errno = EAFNOSUPPORT ;
    if (!s || bind(fd, s->ai_addr, s->ai_addrlen) < 0)
    {
      int r = conn_failsys(c, EX_OSERR, "cannot bind source ip ", srcname) ;
      fd_close(fd) ;
      return r ;
    }
  }
  conn_deadline(c, &deadline) ;
  if (!conn_connect_fd(fd, ai->ai_addr, ai->ai_addrlen, &deadline))
  {
    int r = conn_failsys(c, EX_TEMPFAIL, "cannot connect to ", host, ", port ", port) ;
    fd_close(fd) ;
    return r ;
  }
  {
    int one = 1 ;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) ;
  }
  c->rfd = c->wfd = fd ;
  c->tcp = 1 ;
  return 0 ;
}

static int open_tcp (conn *c, char const *host, char const *port, char const *srcname, int canon)
{
  struct addrinfo lit, *res = 0, *src = 0 ;
  struct sockaddr_storage litaddr ;
  int r = 0 ;
  if (literal(host, port, &lit, &litaddr)) res = &lit ;
  else r = resolve(c, host, port, AI_ADDRCONFIG, &res) ;
  if (r) return r ;
  if (srcname && (r = resolve(c, srcname, 0, AI_NUMERICHOST | AI_PASSIVE, &src)))
  {
    if (res != &lit) freeaddrinfo(res) ;
    return conn_fail(c, EX_OSERR, "cannot bind source ip ", srcname, ": not a numeric address") ;
  }
  r = EX_NOHOST ;
  for (struct addrinfo *ai = res ; ai ; ai = ai->ai_next)
  {
    r = try_addr(c, ai, src, srcname, host, port) ;
    if (!r) { remember_addr(c, ai, canon) ; break ; }
  }
  if (res != &lit) freeaddrinfo(res) ;
  if (src) freeaddrinfo(src) ;
  if (r == EX_NOHOST) return conn_fail(c, EX_NOHOST, "cannot locate host ", host, ": no address") ;
  return r ;
}

int conn_open (conn *c, account const *a, unsigned int flags)
{
  unsigned long long t ;
  char const *host = a->v[S_HOST] ;
  int r ;
  c->code = 0 ;
  if (!settings_number(a->v[S_TIMEOUT], &t) || t > 0x7fffffffULL)
    return conn_fail(c, EX_CONFIG, "invalid timeout ", a->v[S_TIMEOUT]) ;
  if (t) tain_uint(&c->timeout, (unsigned int)t) ; else c->timeout = tain_infinite_relative ;
  if (flags & CONN_UCSPI) return open_ucspi(c, host ? host : a->v[S_SOCKET]) ;
  if (a->v[S_SOCKET]) return open_unix(c, a->v[S_SOCKET]) ;
  if (!host) return conn_fail(c, EX_CONFIG, "host not set") ;
  if (!set_peer(c, host, a->v[S_PORT])) return conn_nomem(c) ;
  if (!a->v[S_PROXY_HOST]) return open_tcp(c, host, a->v[S_PORT], a->v[S_SOURCE_IP], flags & CONN_CANON) ;
  r = open_tcp(c, a->v[S_PROXY_HOST], a->v[S_PROXY_PORT] ? a->v[S_PROXY_PORT] : "1080", a->v[S_SOURCE_IP], 0) ;
  c->addr.len = 0 ;
  c->peerlen = 0 ;
  if (r) return r ;
  return conn_socks5(c, host, (unsigned int)strtoul(a->v[S_PORT], 0, 10)) ;
}
