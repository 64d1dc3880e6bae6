/* ISC license. */

#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sysexits.h>

#include <skalibs/buffer.h>
#include <skalibs/gccattributes.h>
#include <skalibs/sgetopt.h>
#include <skalibs/sig.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/tai.h>
#include <skalibs/types.h>

#include <mpop/account.h>
#include <mpop/auth.h>
#include <mpop/conn.h>
#include <mpop/err.h>
#include <mpop/pop3.h>
#include <mpop/settings.h>
#include <mpop/x509.h>

#define USAGE "pop3info [ -d ] [ -u | -U ]"

static stralloc out = STRALLOC_ZERO ;

static void put (char const *s)
{
  if (!stralloc_cats(&out, s)) mpop_dienomem() ;
}

static void putb (char const *s, size_t len)
{
  if (!stralloc_catb(&out, s, len)) mpop_dienomem() ;
}

static void putulong (unsigned long n)
{
  char fmt[ULONG_FMT] ;
  putb(fmt, ulong_fmt(fmt, n)) ;
}

 /* Text from the server or a certificate: control characters shown as '?' */
static void put_sanitized (char const *s, size_t len)
{
  size_t start = out.len ;
  putb(s, len) ;
  mpop_sanitize(out.s + start, len) ;
}

static void die_session (pop3 *) gccattr_noreturn ;
static void die_session (pop3 *p)
{
  mpop_sanitize(p->msg.s, p->msg.len) ;
  if (!p->srvmsg.len) mpop_die(p->code, p->msg.s) ;
  mpop_info(p->msg.s) ;
  mpop_die(p->code, "POP3 server message: ", p->srvmsg.s) ;
}

static void title (pop3 const *p, account const *a)
{
  conn const *c = &p->c ;
  put("POP3 server at ") ;
  put(a->v[S_HOST] ? a->v[S_HOST] : a->v[S_SOCKET] ? a->v[S_SOCKET] : "(unknown)") ;
  if (c->canon.len || c->addr.len)
  {
    put(" (") ;
    if (c->canon.len) put_sanitized(c->canon.s, c->canon.len) ;
    if (c->canon.len && c->addr.len) put(" ") ;
    if (c->addr.len) { put("[") ; put_sanitized(c->addr.s, c->addr.len) ; put("]") ; }
    put(")") ;
  }
  put(", port ") ;
  put(a->v[S_PORT] ? a->v[S_PORT] : "110") ;
  put(":\n") ;
  if (p->greeting.len) { put("    ") ; put(p->greeting.s) ; put("\n") ; }
}

static void put_dn (char const *label, der_span const *dn)
{
  stralloc s = STRALLOC_ZERO ;
  put("    ") ; put(label) ; put(":\n        ") ;
  if (!x509_dn_string(&s, dn)) put("(cannot decode)") ;
  else put_sanitized(s.s, s.len) ;
  put("\n") ;
  stralloc_free(&s) ;
}

static void put_time (char const *label, int64_t t)
{
  char buf[X509_TIME_FMT] ;
  size_t n = x509_time_fmt(buf, t) ;
  put("        ") ; put(label) ; put(": ") ; putb(buf, n) ; put("\n") ;
}

static void put_fingerprint (char const *label, unsigned char const *h, size_t len)
{
  put("        ") ; put(label) ; put(": ") ;
  if (!x509_fingerprint_fmt(&out, h, len)) mpop_dienomem() ;
  put("\n") ;
}

static void tls_block (pop3 const *p)
{
  conn_tlsinfo info = CONN_TLSINFO_ZERO ;
  x509_cert cert ;
  if (!conn_is_tls(&p->c)) return ;
  if (!conn_tls_info(&p->c, &info)) mpop_dienomem() ;
  put("TLS session parameters:\n    (") ;
  put(conn_tls_version_name(info.version)) ;
  put(")-(") ;
  put(conn_tls_suite_name(info.suite)) ;
  put(")\nTLS certificate information:\n") ;
  if (x509_parse((unsigned char const *)info.cert.s, info.cert.len, &cert))
  {
    put_dn("Subject", &cert.subject) ;
    put_dn("Issuer", &cert.issuer) ;
    put("    Validity:\n") ;
    put_time("Activation time", cert.notbefore) ;
    put_time("Expiration time", cert.notafter) ;
  }
  put("    Fingerprints:\n") ;
  put_fingerprint("SHA256", info.sha256, 32) ;
  put_fingerprint("SHA1 (deprecated)", info.sha1, 20) ;
  conn_tlsinfo_free(&info) ;
}

static void cap (char const *name, char const *sentence)
{
  put("    ") ; put(name) ; put(":\n        ") ; put(sentence) ; put("\n") ;
}

static void put_hundredths (unsigned long n, unsigned long unit)
{
  unsigned long h = (n * 100 + unit / 2) / unit ;
  char two[3] = { '0' + h % 100 / 10, '0' + h % 10, 0 } ;
  putulong(h / 100) ; put(".") ; put(two) ;
}

static void login_delay (unsigned long n)
{
  put("    LOGIN-DELAY ") ; putulong(n) ;
  put(":\n        minimum time between logins is ") ; putulong(n) ; put(" seconds") ;
  if (n > 3600) { put(" = ") ; put_hundredths(n, 3600) ; put(" hours") ; }
  else if (n > 60) { put(" = ") ; put_hundredths(n, 60) ; put(" minutes") ; }
  put("\n") ;
}

static void expire (unsigned long n)
{
  if (n == POP3_EXPIRE_NEVER) { cap("EXPIRE NEVER", "this POP3 server will never delete mails") ; return ; }
  put("    EXPIRE ") ; putulong(n) ; put(":\n        ") ;
  if (!n) put("this POP3 server will not keep mails\n") ;
  else { put("this POP3 server will keep mails for ") ; putulong(n) ; put(" days\n") ; }
}

static int sasl_has (pop3 const *p, char const *mech)
{
  size_t n = strlen(mech) ;
  for (size_t i = 0 ; i < p->sasl.len ; )
  {
    size_t j = i ;
    while (j < p->sasl.len && p->sasl.s[j] != ' ') j++ ;
    if (j - i == n && !memcmp(p->sasl.s + i, mech, n)) return 1 ;
    i = j + 1 ;
  }
  return 0 ;
}

static void auth_block (pop3 const *p)
{
  static char const *const order[] =
  {
    "SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN", "APOP", "USER",
    "GSSAPI", "EXTERNAL", "OAUTHBEARER", "CRAM-MD5", "DIGEST-MD5", "LOGIN", "NTLM", "XOAUTH2", 0
  } ;
  put("    AUTH:\n        Supported authentication methods:\n        ") ;
  for (char const *const *m = order ; *m ; m++)
  {
    int has = !strcmp(*m, "USER") ? 1 : !strcmp(*m, "APOP") ? !!(p->caps & POP3_CAP_APOP) : sasl_has(p, *m) ;
    if (has) { put(*m) ; put(" ") ; }
  }
  put("\n") ;
}

static void capabilities (pop3 const *p, account const *a, int authfailed)
{
  unsigned int c = p->caps ;
  int stls_configured = settings_onoff(a->v[S_TLS]) && settings_onoff(a->v[S_TLS_STARTTLS]) ;
  put("POP3 capabilities:\n") ;
  if (c & POP3_CAP_CAPA) cap("CAPA", "Support for the CAPA command (get list of capabilities)") ;
  if (c & POP3_CAP_IMPLEMENTATION) cap("IMPLEMENTATION", p->implementation.s) ;
  if (c & POP3_CAP_PIPELINING) cap("PIPELINING", "Support for command grouping for faster transmission") ;
  if (c & POP3_CAP_TOP) cap("TOP", "Support for the TOP command (get mail headers)") ;
  if (c & POP3_CAP_UIDL) cap("UIDL", "Support for the UIDL command (get unique mail identifiers)") ;
  if (c & POP3_CAP_LOGIN_DELAY) login_delay(p->login_delay) ;
  if (c & POP3_CAP_EXPIRE) expire(p->expire) ;
  if (c & POP3_CAP_STLS || stls_configured) cap("STLS", "Support for TLS encryption via the STLS command") ;
  auth_block(p) ;
  if (c & POP3_CAP_RESP_CODES) cap("RESP-CODES", "Server error messages in square brackets have a special meaning") ;
  if (c & POP3_CAP_AUTH_RESP_CODE) cap("AUTH-RESP-CODE", "Server error messages in square brackets have a special meaning") ;
  if (c & POP3_CAP_STLS && !p->secured)
    put("This server might advertise more or other capabilities\n    when TLS is active.\n") ;
  if (authfailed)
    put("This server might advertise more or other capabilities\n    after successful authentication.\n") ;
  if (!(c & POP3_CAP_CAPA))
    put("This server does not support the CAPA command, so this\n    list is probably not complete.\n") ;
}

 /* In -S mode only I/O, input, protocol and internal errors end the
    session; a refused or impossible login is just reported in the notes. */
static int try_login (pop3 *p)
{
  switch (auth_login(p))
  {
    case 0 :
      if (p->caps & POP3_CAP_CAPA && pop3_capa_more(p)) die_session(p) ;
      return 1 ;
    case EX_IOERR : case EX_DATAERR : case EX_PROTOCOL : case EX_SOFTWARE : case EX_OSERR : case EX_CONFIG :
      die_session(p) ;
    default :
      return 0 ;
  }
}

static void wipe_password (account *a)
{
  if (!a->v[S_PASSWORD]) return ;
  memset(a->v[S_PASSWORD], 0, strlen(a->v[S_PASSWORD])) ;
  free(a->v[S_PASSWORD]) ;
  a->v[S_PASSWORD] = 0 ;
}

int main (int argc, char const *const *argv)
{
  account a = { 0 } ;
  pop3 p = POP3_ZERO ;
  stralloc err = STRALLOC_ZERO ;
  unsigned int flags = POP3_CANON ;
  int r, loggedin ;
  PROG = mpop_progname("pop3info") ;
  {
    subgetopt l = SUBGETOPT_ZERO ;
    for (;;)
    {
      int opt = subgetopt_r(argc, argv, "duU", &l) ;
      if (opt == -1) break ;
      switch (opt)
      {
        case 'd' : p.trace = &pop3_trace_stdout ; break ;
        case 'u' : flags |= POP3_UCSPI ; break ;
        case 'U' : flags |= POP3_UCSPI | POP3_SECURED ; break ;
        default : mpop_dieusage(USAGE) ;
      }
    }
    argc -= l.ind ; argv += l.ind ;
  }
  if (argc) mpop_dieusage(USAGE) ;
  sig_ignore(SIGPIPE) ;
  tain_now_set_stopwatch_g() ;

  r = account_from_env(&a, &err) ;
  auth_scrub_env() ;
  if (r == EX_OSERR && !err.len) mpop_dienomem() ;
  if (r) mpop_die(r, err.s) ;
  if (!a.v[S_HOST] && !a.v[S_SOCKET] && !(flags & POP3_UCSPI)) mpop_die(EX_CONFIG, "host not set") ;
  if (settings_onoff(a.v[S_TLS]) && !settings_onoff(a.v[S_TLS_CERTCHECK]) && !(flags & POP3_SECURED))
    mpop_warn("TLS certificate verification is disabled (tls_certcheck off): the server is not authenticated") ;

  if (pop3_open(&p, &a, flags)) { wipe_password(&a) ; die_session(&p) ; }
  loggedin = try_login(&p) ;
  wipe_password(&a) ;

  title(&p, &a) ;
  tls_block(&p) ;
  capabilities(&p, &a, !loggedin) ;
  if (buffer_putflush(buffer_1, out.s, out.len) < 0) mpop_diesys(EX_IOERR, "cannot write to stdout") ;
  if (pop3_quit(&p)) die_session(&p) ;
  pop3_free(&p) ;
  account_free(&a) ;
  stralloc_free(&out) ;
  stralloc_free(&err) ;
  return 0 ;
}
