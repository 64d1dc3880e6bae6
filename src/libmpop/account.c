/* ISC license. */

#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <skalibs/buffer.h>
#include <skalibs/env.h>
#include <skalibs/stralloc.h>

#include <mpop/account.h>
#include <mpop/settings.h>

extern char **environ ;

static int setv (account *a, unsigned int i, char const *s)
{
  char *x = strdup(s) ;
  if (!x) return 0 ;
  free(a->v[i]) ;
  a->v[i] = x ;
  return 1 ;
}

static int say (stralloc *err, int code, char const *a, char const *b, char const *c, char const *d)
{
  err->len = 0 ;
  if (!(stralloc_cats(err, a) && stralloc_cats(err, b ? b : "") && stralloc_cats(err, c ? c : "")
     && stralloc_cats(err, d ? d : "") && stralloc_0(err))) return EX_OSERR ;
  return code ;
}

int account_override (account *a, char const *assignment, stralloc *err)
{
  char const *eq = strchr(assignment, '=') ;
  size_t len = eq ? (size_t)(eq - assignment) : strlen(assignment) ;
  int i = settings_find(assignment, len) ;
  stralloc cmd = STRALLOC_ZERO ;
  int r ;
  if (!stralloc_catb(&cmd, assignment, len) || !stralloc_0(&cmd)) return EX_OSERR ;
  if (i < 0) r = say(err, EX_USAGE, "unknown command ", cmd.s, " in override ", assignment) ;
  else switch (account_set(a, i, eq ? eq + 1 : "", NORM_CLI))
  {
    case SE_OK : r = 0 ; break ;
    case SE_NOMEM : r = EX_OSERR ; break ;
    case SE_NEEDSARG : r = say(err, EX_USAGE, "command ", cmd.s, " needs an argument", 0) ; break ;
    default : r = say(err, EX_USAGE, "invalid argument ", eq ? eq + 1 : "", " for command ", cmd.s) ; break ;
  }
  stralloc_free(&cmd) ;
  return r ;
}

 /* %U and %H in the UIDLs file name */
static int expand_uidls (account *a)
{
  char const *user = a->v[S_USER] ? a->v[S_USER] : "" ;
  char const *host = a->v[S_HOST] ? a->v[S_HOST] : a->v[S_SOCKET] ? a->v[S_SOCKET] : "" ;
  stralloc sa = STRALLOC_ZERO ;
  for (char const *s = a->v[S_UIDLS_FILE] ; *s ; s++)
  {
    int ok ;
    if (s[0] == '%' && s[1] == 'U') { ok = stralloc_cats(&sa, user) ; s++ ; }
    else if (s[0] == '%' && s[1] == 'H') { ok = stralloc_cats(&sa, host) ; s++ ; }
    else ok = stralloc_catb(&sa, s, 1) ;
    if (!ok) goto err ;
  }
  if (!stralloc_0(&sa)) goto err ;
  free(a->v[S_UIDLS_FILE]) ;
  a->v[S_UIDLS_FILE] = sa.s ;
  return 1 ;
 err:
  stralloc_free(&sa) ;
  return 0 ;
}

static int fill_defaults (account *a)
{
  for (unsigned int i = 0 ; i < S_N ; i++)
    if (!a->v[i] && settings_table[i].def && !(a->set[i] && settings_table[i].flags & SF_EMPTY_UNSETS))
      if (!setv(a, i, settings_table[i].def)) return 0 ;
  if (!a->v[S_PORT])
    if (!setv(a, S_PORT, settings_onoff(a->v[S_TLS]) && !settings_onoff(a->v[S_TLS_STARTTLS]) ? "995" : "110")) return 0 ;
  if (a->v[S_PROXY_HOST] && !a->v[S_PROXY_PORT] && !setv(a, S_PROXY_PORT, "1080")) return 0 ;
  if (!a->v[S_UIDLS_FILE])
  {
    stralloc sa = STRALLOC_ZERO ;
    if (!stralloc_cats(&sa, mpop_home()) || !stralloc_cats(&sa, "/.mpop_uidls/%U_at_%H") || !stralloc_0(&sa)) return 0 ;
    a->v[S_UIDLS_FILE] = sa.s ;
  }
  return 1 ;
}

static char const *check (account const *a, int mode)
{
  int tls = settings_onoff(a->v[S_TLS]) ;
  if ((!a->v[S_HOST] && !a->v[S_SOCKET]) || (tls && !a->v[S_HOST] && !a->v[S_TLS_HOST_OVERRIDE])) return "host not set" ;
  if (a->v[S_TLS_KEY_FILE] && !a->v[S_TLS_CERT_FILE]) return "tls_key_file requires tls_cert_file" ;
  if (a->v[S_TLS_CERT_FILE] && !a->v[S_TLS_KEY_FILE]) return "tls_cert_file requires tls_key_file" ;
  if (tls && !a->v[S_TLS_TRUST_FILE] && !a->v[S_TLS_FINGERPRINT] && settings_onoff(a->v[S_TLS_CERTCHECK]))
    return "tls requires either tls_trust_file (highly recommended) or tls_fingerprint or a disabled tls_certcheck" ;
  if (a->v[S_TLS_CRL_FILE] && !a->v[S_TLS_TRUST_FILE]) return "tls_crl_file requires tls_trust_file" ;
  if (mode == AM_RETRIEVE && !a->v[S_DELIVERY]) return "no delivery information" ;
  return 0 ;
}

int account_complete (account *a, char const *file, int mode, stralloc *err)
{
  char const *problem ;
  if (!fill_defaults(a) || !expand_uidls(a)) return EX_OSERR ;
  problem = check(a, mode) ;
  if (!problem) return 0 ;
  if (!a->name) return say(err, EX_CONFIG, problem, 0, 0, 0) ;
  err->len = 0 ;
  if (!(stralloc_cats(err, "account ") && stralloc_cats(err, a->name) && stralloc_cats(err, " from ")
     && stralloc_cats(err, file) && stralloc_cats(err, ": ") && stralloc_cats(err, problem) && stralloc_0(err)))
    return EX_OSERR ;
  return EX_CONFIG ;
}

int account_passwordeval (account *a, stralloc *err)
{
  stralloc out = STRALLOC_ZERO ;
  int r ;
  if (a->v[S_PASSWORD] || !a->v[S_PASSWORDEVAL]) return 0 ;
  r = mpop_eval(a->v[S_PASSWORDEVAL], &out) ;
  if (r <= 0) return say(err, EX_CONFIG, "cannot read output of '", a->v[S_PASSWORDEVAL], "'", 0) ;
  a->v[S_PASSWORD] = out.s ;
  return 0 ;
}

 /* --pretend */

static int pretend_value (buffer *b, account const *a, unsigned int i)
{
  char const *v = a->v[i] ;
  switch (i)
  {
    case S_PROXY_PORT : return buffer_puts(b, v ? v : "0") >= 0 ;
    case S_PASSWORD : return buffer_puts(b, v ? "*" : "(not set)") >= 0 ;
    case S_TIMEOUT :
      if (!strcmp(v, "off")) return buffer_puts(b, "off") >= 0 ;
      return buffer_puts(b, v) >= 0 && buffer_puts(b, strcmp(v, "1") ? " seconds" : " second") >= 0 ;
    case S_AUTH :
      if (!strcmp(v, "on")) return buffer_puts(b, "choose") >= 0 ;
      for (; *v ; v++) { char c = *v >= 'a' && *v <= 'z' ? *v - 32 : *v ; if (buffer_put(b, &c, 1) < 0) return 0 ; }
      return 1 ;
    case S_KEEP :
      if (!strcmp(v, "on") || !strcmp(v, "off")) return buffer_puts(b, v) >= 0 ;
      return buffer_puts(b, v) >= 0 && buffer_puts(b, " seconds") >= 0 ;
    default : return buffer_puts(b, v ? v : "(not set)") >= 0 ;
  }
}

int account_pretend (buffer *b, account const *a, char const *file, int mode)
{
  if (a->name)
    if (buffer_puts(b, "using account ") < 0 || buffer_puts(b, a->name) < 0 || buffer_puts(b, " from ") < 0
     || buffer_puts(b, file) < 0 || buffer_puts(b, "\n") < 0) return 0 ;
  for (unsigned int i = 0 ; i < S_N ; i++)
  {
    if (!settings_table[i].label) continue ;
    if (mode == AM_SERVERINFO && !(settings_table[i].flags & SF_SERVERINFO)) continue ;
    if (buffer_puts(b, settings_table[i].label) < 0 || buffer_puts(b, " = ") < 0
     || !pretend_value(b, a, i) || buffer_puts(b, "\n") < 0) return 0 ;
  }
  return 1 ;
}

 /* The environment contract (DESIGN 3.1) */

int account_envmodifs (stralloc *modifs, account const *a, char const *file)
{
  char name[SETTINGS_ENVNAME_MAX] ;
  for (char **e = environ ; *e ; e++)
    if (!strncmp(*e, "MPOP_", 5))
    {
      char const *eq = strchr(*e, '=') ;
      if (!stralloc_catb(modifs, *e, eq ? (size_t)(eq - *e) : strlen(*e)) || !stralloc_0(modifs)) return 0 ;
    }
  if (a->name && !env_addmodif(modifs, "MPOP_ACCOUNT", a->name)) return 0 ;
  if (file && a->name && !env_addmodif(modifs, "MPOP_CONFIG_FILE", file)) return 0 ;
  for (unsigned int i = 0 ; i < S_N ; i++)
  {
    if (!a->v[i]) continue ;
    settings_envname(name, i) ;
    if (!env_addmodif(modifs, name, a->v[i])) return 0 ;
  }
  return 1 ;
}

int account_from_env (account *a, stralloc *err)
{
  char name[SETTINGS_ENVNAME_MAX] ;
  char const *x = getenv("MPOP_ACCOUNT") ;
  if (x && !(a->name = strdup(x))) return EX_OSERR ;
  for (unsigned int i = 0 ; i < S_N ; i++)
  {
    settings_envname(name, i) ;
    x = getenv(name) ;
    if (!x) continue ;
    switch (account_set(a, i, x, NORM_ENV))
    {
      case SE_OK : break ;
      case SE_NOMEM : return EX_OSERR ;
      default : return say(err, EX_CONFIG, "invalid value ", x, " for ", name) ;
    }
  }
  return 0 ;
}
