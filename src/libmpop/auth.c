/* ISC license. */

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sysexits.h>

#include <skalibs/bytestr.h>
#include <skalibs/stralloc.h>

#include <mpop/account.h>
#include <mpop/auth.h>
#include <mpop/conn.h>
#include <mpop/pop3.h>
#include <mpop/settings.h>
#include "pop3-internal.h"

int auth_needs_user (char const *method)
{
  return !!strcmp(method, "external") ;
}

int auth_needs_password (char const *method)
{
  return strcmp(method, "external") && strcmp(method, "gssapi") ;
}

void auth_scrub_env (void)
{
  struct rlimit rl ;
  char *v = getenv("MPOP_PASSWORD") ;
  if (v) byte_zzero(v, strlen(v)) ;
  unsetenv("MPOP_PASSWORD") ;
  if (!getrlimit(RLIMIT_CORE, &rl))
  {
    rl.rlim_cur = 0 ;
    setrlimit(RLIMIT_CORE, &rl) ;
  }
}

 /* EXTERNAL proves who we are with the TLS client certificate: our own
    TLS needs one configured (a helper's TLS, POP3_SECURED, may have one) */
static int external_possible (pop3 const *p)
{
  if (!p->secured) return 0 ;
  return !conn_is_tls(&p->c) || p->a->v[S_TLS_CERT_FILE] ;
}

static void upper (char *d, char const *s, size_t max)
{
  size_t i = 0 ;
  for (; s[i] && i + 1 < max ; i++) d[i] = s[i] >= 'a' && s[i] <= 'z' ? s[i] - 32 : s[i] ;
  d[i] = 0 ;
}

 /* A method chosen in the configuration that needs libgsasl, which is
    loaded only now: say so if it cannot be */
static int library_missing (pop3 *p)
{
  stralloc err = STRALLOC_ZERO ;
  char const *m = p->a->v[S_AUTH] ;
  char up[64] ;
  if (!m || !strcmp(m, "on")) return 0 ;
  upper(up, m, sizeof(up)) ;
  if (!sasl_library_missing(up, &err)) return 0 ;
  if (!err.len || !stralloc_cats(&err, " (needed by authentication method ") || !stralloc_cats(&err, up)
   || !stralloc_cats(&err, ")") || !stralloc_0(&err))
    pop3_nomem(p) ;
  else pop3_failmsg(p, EX_UNAVAILABLE, err.s, 0, 0) ;
  stralloc_free(&err) ;
  return 1 ;
}

int auth_login (pop3 *p)
{
  account const *a = p->a ;
  stralloc pw = STRALLOC_ZERO ;
  stralloc err = STRALLOC_ZERO ;
  char const *m ;
  char up[64] ;
  int r ;
  p->sasl_hook = &sasl_login ;
  p->sasl_supports = &sasl_supports ;
  if (library_missing(p)) return p->code ;
  m = pop3_auth_method(p) ;
  if (!m) return p->code ;
  upper(up, m, sizeof(up)) ;
  p->srvmsg.len = 0 ;
  if (auth_needs_user(m) && !a->v[S_USER])
    return pop3_failmsg(p, EX_UNAVAILABLE, "authentication method ", up, " needs a user name") ;
  if (!strcmp(m, "external") && !external_possible(p))
    return pop3_failmsg(p, EX_UNAVAILABLE, "authentication method EXTERNAL needs TLS with a client certificate", " (tls on, tls_cert_file and tls_key_file)", 0) ;
  r = auth_password(a, m, &pw, &err) ;
  if (r)
  {
    if (r == EX_OSERR && !err.len) r = pop3_nomem(p) ;
    else pop3_failmsg(p, r, err.s, 0, 0) ;
    secret_free(&pw) ;
    stralloc_free(&err) ;
    return r ;
  }
  stralloc_free(&err) ;
  r = pop3_login(p, a->v[S_USER], auth_needs_password(m) ? pw.s : 0) ;
  secret_free(&pw) ;
  return r ;
}
