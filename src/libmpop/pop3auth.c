/* ISC license. */

#include <string.h>
#include <sysexits.h>

#include <bearssl.h>

#include <skalibs/stralloc.h>

#include <mpop/account.h>
#include <mpop/pop3.h>
#include <mpop/settings.h>
#include "pop3-internal.h"

 /* Automatic choice, mpop 1.4.23's order without the -PLUS methods: with
    TLS any method, without TLS only those that do not reveal the
    password. */
static char const *const auto_tls[] =
{
  "scram-sha-256", "scram-sha-1", "plain", "apop", "user", "cram-md5", "digest-md5", "login", "ntlm", 0
} ;
static char const *const auto_clear[] = { "scram-sha-256", "scram-sha-1", 0 } ;

static void upper (char *d, char const *s, size_t max)
{
  size_t i = 0 ;
  for (; s[i] && i + 1 < max ; i++) d[i] = s[i] >= 'a' && s[i] <= 'z' ? s[i] - 32 : s[i] ;
  d[i] = 0 ;
}

 /* Whether the server's SASL list holds mech (a whole token) */
static int server_has (pop3 const *p, char const *mech)
{
  char m[64] ;
  size_t n ;
  upper(m, mech, sizeof(m)) ;
  n = strlen(m) ;
  for (size_t i = 0 ; i < p->sasl.len ; )
  {
    size_t j = i ;
    while (j < p->sasl.len && p->sasl.s[j] != ' ') j++ ;
    if (j - i == n && !memcmp(p->sasl.s + i, m, n)) return 1 ;
    i = j + 1 ;
  }
  return 0 ;
}

static int sasl_can (pop3 const *p, char const *m)
{
  char up[64] ;
  if (!p->sasl_hook) return 0 ;
  if (!p->sasl_supports) return 1 ;
  upper(up, m, sizeof(up)) ;
  return (*p->sasl_supports)(up) ;
}

static int available (pop3 const *p, char const *m)
{
  if (!strcmp(m, "user")) return 1 ;
  if (!strcmp(m, "apop")) return !!(p->caps & POP3_CAP_APOP) ;
  return server_has(p, m) && sasl_can(p, m) ;
}

char const *pop3_auth_method (pop3 *p)
{
  char const *m = p->a->v[S_AUTH] ;
  char up[64] ;
  if (!m || !strcmp(m, "on"))
  {
    for (char const *const *x = p->secured ? auto_tls : auto_clear ; *x ; x++)
      if (available(p, *x)) return *x ;
    pop3_failmsg(p, EX_UNAVAILABLE, p->secured ? "cannot find a usable authentication method" :
      "cannot use a secure authentication method: without TLS only SCRAM-SHA-256 and SCRAM-SHA-1 protect"
      " the password, and the server offers neither (use tls on, or choose a method with auth METHOD,"
      " e.g. auth user, to send the password unprotected)", 0, 0) ;
    p->srvmsg.len = 0 ;
    return 0 ;
  }
  upper(up, m, sizeof(up)) ;
  p->srvmsg.len = 0 ;
  if (strcmp(m, "user") && strcmp(m, "apop") && !sasl_can(p, m))
  {
    pop3_failmsg(p, EX_UNAVAILABLE, "support for authentication method ", up, " is not compiled in") ;
    return 0 ;
  }
  if (!available(p, m))
  {
    pop3_failmsg(p, EX_UNAVAILABLE, "POP3 server does not support authentication method ", up, 0) ;
    return 0 ;
  }
  return m ;
}

static int auth_failed (pop3 *p, char const *method)
{
  char up[64] ;
  int code = pop3_errcode(p, EX_NOPERM) ;
  char const *why = pop3_errwhy(p) ;
  upper(up, method, sizeof(up)) ;
  pop3_fail(p, code, "") ;
  if (!why) return pop3_failmsg(p, code, "authentication failed (method ", up, ")") ;
  if (!stralloc_copys(&p->msg, "cannot log in now (method ") || !stralloc_cats(&p->msg, up) || !stralloc_cats(&p->msg, "): ")
   || !stralloc_cats(&p->msg, why) || !stralloc_cats(&p->msg, "; try again later") || !stralloc_0(&p->msg)) return pop3_nomem(p) ;
  p->msg.len-- ;
  return code ;
}

static int login_user (pop3 *p, char const *user, char const *password)
{
  int r1, r2 ;
  if (pop3_queue(p, "USER", user)) return p->code ;
  if (p->pipelining)
  {
    if (pop3_queue_secret(p, "PASS", password) || pop3_flush(p)) return p->code ;
    r1 = pop3_status(p) ;
    if (r1 < 0) return p->code ;
    if (!r1)
    {
      stralloc keep = STRALLOC_ZERO ;
      int ok = stralloc_copyb(&keep, p->line.s, p->line.len) && stralloc_0(&keep) ;
      r2 = pop3_status(p) ;
      if (!ok) { stralloc_free(&keep) ; return pop3_nomem(p) ; }
      if (r2 < 0) { stralloc_free(&keep) ; return p->code ; }
      p->line.len = 0 ;
      ok = stralloc_catb(&p->line, keep.s, keep.len) ;
      stralloc_free(&keep) ;
      if (!ok) return pop3_nomem(p) ;
      p->line.len-- ;
      return auth_failed(p, "user") ;
    }
  }
  else
  {
    if (pop3_flush(p)) return p->code ;
    r1 = pop3_status(p) ;
    if (r1 < 0) return p->code ;
    if (!r1) return auth_failed(p, "user") ;
    if (pop3_queue_secret(p, "PASS", password) || pop3_flush(p)) return p->code ;
  }
  r2 = pop3_status(p) ;
  if (r2 < 0) return p->code ;
  return r2 ? 0 : auth_failed(p, "user") ;
}

static int login_apop (pop3 *p, char const *user, char const *password)
{
  static char const hex[] = "0123456789abcdef" ;
  br_md5_context md5 ;
  unsigned char h[16] ;
  char digest[33] ;
  stralloc arg = STRALLOC_ZERO ;
  int r ;
  br_md5_init(&md5) ;
  br_md5_update(&md5, p->timestamp.s, p->timestamp.len) ;
  br_md5_update(&md5, password, strlen(password)) ;
  br_md5_out(&md5, h) ;
  for (unsigned int i = 0 ; i < 16 ; i++) { digest[2*i] = hex[h[i] >> 4] ; digest[2*i+1] = hex[h[i] & 15] ; }
  digest[32] = 0 ;
  if (!stralloc_cats(&arg, user) || !stralloc_catb(&arg, " ", 1) || !stralloc_catb(&arg, digest, 33))
  {
    stralloc_free(&arg) ;
    return pop3_nomem(p) ;
  }
  if (p->trace)
  {
    stralloc t = STRALLOC_ZERO ;
    if (stralloc_cats(&t, "APOP ") && stralloc_cats(&t, user) && stralloc_cats(&t, " ********"))
      (*p->trace)(p, POP3_TRACE_OUT, t.s, t.len) ;
    stralloc_free(&t) ;
  }
  {
    pop3_trace_func *tr = p->trace ;
    p->trace = 0 ;
    r = pop3_command(p, "APOP", arg.s) ;
    p->trace = tr ;
    if (tr && r >= 0) (*tr)(p, POP3_TRACE_IN, p->line.s, p->line.len) ;
  }
  memset(arg.s, 0, arg.len) ;
  memset(digest, 0, sizeof(digest)) ;
  memset(&md5, 0, sizeof(md5)) ;
  stralloc_free(&arg) ;
  if (r < 0) return p->code ;
  return r ? 0 : auth_failed(p, "apop") ;
}

int pop3_login (pop3 *p, char const *user, char const *password)
{
  char const *m = pop3_auth_method(p) ;
  char up[64] ;
  int r ;
  if (!m) return p->code ;
  upper(up, m, sizeof(up)) ;
  if (!user && strcmp(m, "external"))
    return pop3_failmsg(p, EX_UNAVAILABLE, "authentication method ", up, " needs a user name") ;
  if (!password && strcmp(m, "external") && strcmp(m, "gssapi"))
    return pop3_failmsg(p, EX_UNAVAILABLE, "authentication method ", up, " needs a password") ;
  if (!strcmp(m, "user")) r = login_user(p, user, password) ;
  else if (!strcmp(m, "apop")) r = login_apop(p, user, password) ;
  else r = (*p->sasl_hook)(p, up, user, password) ;
  if (!r) p->authenticated = 1 ;
  return r ;
}

int pop3_capa_after_login (pop3 *p, int needtop)
{
  if (!(p->caps & POP3_CAP_CAPA)) return 0 ;
  if ((needtop && !(p->caps & POP3_CAP_TOP))
   || (p->pipelining_setting < 0 && !(p->caps & POP3_CAP_PIPELINING))
   || !(p->caps & POP3_CAP_UIDL))
    return pop3_capa_more(p) ;
  return 0 ;
}
