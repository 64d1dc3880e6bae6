/* ISC license. */

#include <string.h>

#include <skalibs/stralloc.h>

#include <mpop/account.h>
#include <mpop/auth.h>
#include <mpop/settings.h>
#include "sasl-internal.h"

 /* RFC 5801 saslname: ',' and '=' escaped */
static int saslname (stralloc *out, char const *s)
{
  for (; *s ; s++)
  {
    char const *x = *s == ',' ? "=2C" : *s == '=' ? "=3D" : 0 ;
    if (!(x ? secret_cats(out, x) : secret_catb(out, s, 1))) return 0 ;
  }
  return 1 ;
}

static char const *port_of (account const *a)
{
  if (a->v[S_PORT]) return a->v[S_PORT] ;
  return settings_onoff(a->v[S_TLS]) && !settings_onoff(a->v[S_TLS_STARTTLS]) ? "995" : "110" ;
}

int oauth_bearer (stralloc *out, account const *a, char const *user, char const *token)
{
  char const *host = a->v[S_HOST] ? a->v[S_HOST] : a->v[S_SOCKET] ? a->v[S_SOCKET] : "" ;
  return secret_cats(out, "n,a=") && saslname(out, user) && secret_cats(out, ",\001host=")
    && secret_cats(out, host) && secret_cats(out, "\001port=") && secret_cats(out, port_of(a))
    && secret_cats(out, "\001auth=Bearer ") && secret_cats(out, token) && secret_cats(out, "\001\001") ;
}

int oauth_xoauth2 (stralloc *out, char const *user, char const *token)
{
  return secret_cats(out, "user=") && secret_cats(out, user) && secret_cats(out, "\001auth=Bearer ")
    && secret_cats(out, token) && secret_cats(out, "\001\001") ;
}
