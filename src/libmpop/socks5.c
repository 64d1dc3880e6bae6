/* ISC license. */

#include <string.h>
#include <sysexits.h>

#include <mpop/conn.h>
#include "conn-internal.h"

static char const *const socks5_status[] =
{
  "succeeded",
  "general server failure",
  "connection not allowed by ruleset",
  "network unreachable",
  "host unreachable",
  "connection refused",
  "time-to-live expired",
  "command not supported",
  "address type not supported"
} ;

 /* Reads exactly len bytes: 0, or a code (EOF is a proxy failure) */
static int get (conn *c, unsigned char *buf, size_t len)
{
  while (len)
  {
    ssize_t r = conn_read(c, (char *)buf, len) ;
    if (r < 0) return c->code ;
    if (!r) return conn_fail(c, EX_UNAVAILABLE, "proxy failure: the proxy closed the connection") ;
    buf += r ; len -= r ;
  }
  return 0 ;
}

static int send_now (conn *c, unsigned char const *s, size_t len)
{
  int r = conn_put(c, (char const *)s, len) ;
  return r ? r : conn_flush(c) ;
}

int conn_socks5 (conn *c, char const *host, unsigned int port)
{
  static unsigned char const hello[3] = { 5, 1, 0 } ;
  unsigned char buf[262] ;
  size_t hlen = strlen(host), skip ;
  int r ;
  if (hlen > 255) return conn_fail(c, EX_UNAVAILABLE, "proxy failure: host name too long") ;
  if ((r = send_now(c, hello, 3)) || (r = get(c, buf, 2))) return r ;
  if (buf[0] != 5) return conn_fail(c, EX_UNAVAILABLE, "proxy failure: unexpected reply (not a SOCKS5 proxy?)") ;
  if (buf[1] == 0xff) return conn_fail(c, EX_UNAVAILABLE, "proxy failure: the proxy requires authentication, which is not supported") ;
  if (buf[1]) return conn_fail(c, EX_UNAVAILABLE, "proxy failure: unexpected reply") ;
  buf[0] = 5 ; buf[1] = 1 ; buf[2] = 0 ; buf[3] = 3 ; buf[4] = (unsigned char)hlen ;
  memcpy(buf + 5, host, hlen) ;
  buf[5 + hlen] = (unsigned char)(port >> 8) ;
  buf[6 + hlen] = (unsigned char)port ;
  if ((r = send_now(c, buf, 7 + hlen)) || (r = get(c, buf, 5))) return r ;
  if (buf[0] != 5 || buf[2] != 0) return conn_fail(c, EX_UNAVAILABLE, "proxy failure: unexpected reply") ;
  if (buf[1])
    return conn_fail(c, EX_UNAVAILABLE, "proxy failure: ", buf[1] < sizeof(socks5_status) / sizeof(char const *) ? socks5_status[buf[1]] : "unknown error") ;
  switch (buf[3])
  {
    case 1 : skip = 4 + 2 - 1 ; break ;
    case 4 : skip = 16 + 2 - 1 ; break ;
    case 3 : skip = buf[4] + 2 ; break ;
    default : return conn_fail(c, EX_UNAVAILABLE, "proxy failure: unexpected reply") ;
  }
  return get(c, buf, skip) ;
}
