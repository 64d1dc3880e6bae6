/* ISC license. */

#include <errno.h>
#include <string.h>
#include <sysexits.h>

#include <skalibs/bytestr.h>
#include <skalibs/stralloc.h>

#include <mpop/account.h>
#include <mpop/auth.h>
#include <mpop/settings.h>
#include "sasl-internal.h"
#include "sasllib-internal.h"

 /* Every mechanism this code can drive, in mpop 1.4.23's order. The
    -PLUS ones are absent: they need TLS channel binding data, which
    BearSSL does not give. */
static struct { char const *name ; unsigned int flags ; } const mechs[] =
{
  { "SCRAM-SHA-256", SASLMECH_IR },
  { "SCRAM-SHA-1", SASLMECH_IR },
  { "PLAIN", SASLMECH_IR },
  { "GSSAPI", SASLMECH_IR },
  { "EXTERNAL", SASLMECH_IR },
  { "OAUTHBEARER", SASLMECH_IR | SASLMECH_OAUTH | SASLMECH_BEARER },
  { "CRAM-MD5", 0 },
  { "DIGEST-MD5", 0 },
  { "LOGIN", 0 },
  { "NTLM", 0 },
  { "XOAUTH2", SASLMECH_IR | SASLMECH_OAUTH },
  { 0, 0 }
} ;

 /* Properties that hold the password or keys derived from it */
static Gsasl_property const secrets[] =
{
  GSASL_PASSWORD, GSASL_SCRAM_SALTED_PASSWORD, GSASL_SCRAM_SERVERKEY, GSASL_SCRAM_STOREDKEY
} ;

int saslmech_flags (char const *mech)
{
  for (unsigned int i = 0 ; mechs[i].name ; i++)
    if (!strcmp(mech, mechs[i].name)) return mechs[i].flags ;
  return -1 ;
}

int sasl_supports (char const *mech)
{
  sasllib const *L ;
  Gsasl *ctx ;
  int flags = saslmech_flags(mech), ok ;
  if (flags < 0) return 0 ;
  if (flags & SASLMECH_OAUTH) return 1 ;
  L = sasllib_get(0) ;
  if (!L || (*L->init)(&ctx) != GSASL_OK) return 0 ;
  ok = (*L->client_support_p)(ctx, mech) ;
  (*L->done)(ctx) ;
  return ok ;
}

int sasl_library_missing (char const *mech, stralloc *err)
{
  int flags = saslmech_flags(mech) ;
  if (flags < 0 || flags & SASLMECH_OAUTH) return 0 ;
  return !sasllib_get(err) ;
}

static int say (stralloc *err, int code, char const *a, char const *b, char const *c)
{
  err->len = 0 ;
  if (!(stralloc_cats(err, a) && stralloc_cats(err, b) && stralloc_cats(err, c) && stralloc_0(err))) return EX_OSERR ;
  err->len-- ;
  return code ;
}

static int nomem (stralloc *err)
{
  return say(err, EX_OSERR, "cannot allocate memory", "", "") ;
}

static int setprop (saslmech *m, Gsasl_property prop, char const *value)
{
  return !value || (*sasllib_get(0)->property_set)(m->session, prop, value) == GSASL_OK ;
}

int saslmech_start (saslmech *m, account const *a, char const *mech, char const *user, char const *password, stralloc *err)
{
  sasllib const *L ;
  Gsasl *ctx ;
  Gsasl_session *s ;
  char const *host = a->v[S_HOST] ? a->v[S_HOST] : a->v[S_SOCKET] ;
  int flags = saslmech_flags(mech), r ;
  if (flags < 0) return say(err, EX_UNAVAILABLE, "support for authentication method ", mech, " is not compiled in") ;
  m->name = mech ;
  m->flags = flags ;
  m->a = a ;
  m->user = user ;
  m->password = password ;
  m->steps = 0 ;
  if (flags & SASLMECH_OAUTH) return 0 ;
  L = sasllib_get(err) ;
  if (!L) return err->len ? EX_UNAVAILABLE : EX_OSERR ;
  r = (*L->init)(&ctx) ;
  if (r != GSASL_OK) return say(err, EX_SOFTWARE, "cannot initialize GNU SASL: ", (*L->strerror)(r), "") ;
  m->ctx = ctx ;
  r = (*L->client_start)(ctx, mech, &s) ;
  if (r != GSASL_OK) return say(err, EX_UNAVAILABLE, "GNU SASL cannot start authentication method ", mech, "") ;
  m->session = s ;
  if (!(setprop(m, GSASL_AUTHID, user) && setprop(m, GSASL_PASSWORD, password)
     && setprop(m, GSASL_SERVICE, "pop") && setprop(m, GSASL_HOSTNAME, host)
     && (strcmp(mech, "NTLM") || setprop(m, GSASL_REALM, a->v[S_NTLMDOMAIN]))))
    return nomem(err) ;
  return 0 ;
}

static int oauth_step (saslmech *m, stralloc *out, stralloc *err)
{
  int ok = m->flags & SASLMECH_BEARER ? oauth_bearer(out, m->a, m->user, m->password) : oauth_xoauth2(out, m->user, m->password) ;
  if (!ok) return (nomem(err), -1) ;
  return 1 ;
}

 /* libgsasl copies NTLM's type 2 message into libntlm's structure without
    looking at it, and libntlm reads the domain and the challenge from
    there: a short one would leave them uninitialized. Ask for the
    signature, the type, the 8-byte challenge and a domain inside. */
static int ntlm_type2_ok (char const *in, size_t len)
{
  unsigned char const *u = (unsigned char const *)in ;
  size_t dlen, off ;
  if (len < 32 || memcmp(in, "NTLMSSP\0\2\0\0\0", 12)) return 0 ;
  dlen = u[12] | (size_t)u[13] << 8 ;
  off = u[16] | (size_t)u[17] << 8 | (size_t)u[18] << 16 | (size_t)u[19] << 24 ;
  return off <= len && dlen <= len - off ;
}

int saslmech_step (saslmech *m, char const *in, size_t len, stralloc *out, stralloc *err)
{
  sasllib const *L = sasllib_get(0) ;
  char *o = 0 ;
  size_t olen = 0 ;
  int r ;
  if (m->steps++ && m->flags & SASLMECH_OAUTH)
    return (say(err, EX_PROTOCOL, "unexpected challenge", "", ""), -1) ;
  if (m->flags & SASLMECH_OAUTH) return oauth_step(m, out, err) ;
  if (m->steps == 2 && !strcmp(m->name, "NTLM") && !ntlm_type2_ok(in, len))
    return (say(err, EX_PROTOCOL, "the server's challenge is not an NTLM type 2 message", "", ""), -1) ;
  r = (*L->step)(m->session, in, len, &o, &olen) ;
  if (r != GSASL_OK && r != GSASL_NEEDS_MORE)
  {
    if (o) { byte_zzero(o, olen) ; (*L->free)(o) ; }
    say(err, EX_PROTOCOL, (*L->strerror)(r), r == GSASL_AUTHENTICATION_ERROR ? " (the server could not prove that it knows the password)" : "", "") ;
    return -1 ;
  }
  if (!secret_catb(out, o ? o : "", o ? olen : 0))
  {
    if (o) { byte_zzero(o, olen) ; (*L->free)(o) ; }
    return (nomem(err), -1) ;
  }
  if (o) { byte_zzero(o, olen) ; (*L->free)(o) ; }
  return r == GSASL_OK ;
}

void saslmech_end (saslmech *m)
{
  sasllib const *L = m->session || m->ctx ? sasllib_get(0) : 0 ;
  if (m->session)
  {
    for (unsigned int i = 0 ; i < sizeof(secrets) / sizeof(secrets[0]) ; i++)
    {
      char *v = (char *)(*L->property_fast)(m->session, secrets[i]) ;
      if (v) byte_zzero(v, strlen(v)) ;
    }
    (*L->finish)(m->session) ;
    m->session = 0 ;
  }
  if (m->ctx) { (*L->done)(m->ctx) ; m->ctx = 0 ; }
}

 /* --version */

static char const *const order[] =
{
  "scram-sha-256", "scram-sha-1", "plain", "apop", "user", "gssapi", "external", "oauthbearer",
  "cram-md5", "digest-md5", "login", "ntlm", "xoauth2", 0
} ;

int auth_method_supported (char const *method)
{
  char up[32] ;
  size_t n = strlen(method) ;
  if (!strcmp(method, "user") || !strcmp(method, "apop")) return 1 ;
  if (n >= sizeof(up)) return 0 ;
  for (size_t i = 0 ; i <= n ; i++) up[i] = method[i] >= 'a' && method[i] <= 'z' ? method[i] - 32 : method[i] ;
  return sasl_supports(up) ;
}

char const *auth_methods_line (void)
{
  static char line[256] ;
  size_t len = 0 ;
  for (unsigned int i = 0 ; order[i] ; i++)
    if (auth_method_supported(order[i]))
    {
      size_t n = strlen(order[i]) ;
      memcpy(line + len, order[i], n) ;
      len += n ;
      line[len++] = ' ' ;
    }
  line[len] = 0 ;
  return line ;
}

char const *auth_library_version (void)
{
  sasllib const *L = sasllib_get(0) ;
  char const *v = L ? (*L->check_version)(0) : 0 ;
  return v ? v : "not available" ;
}
