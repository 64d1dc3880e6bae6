/* ISC license. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sysexits.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include <bearssl.h>

#include <skalibs/genalloc.h>
#include <skalibs/iopause.h>
#include <skalibs/random.h>
#include <skalibs/stralloc.h>
#include <skalibs/tai.h>

#include <mpop/conn.h>
#include <mpop/x509.h>
#include "conn-internal.h"
#include "tls-internal.h"

struct conn_tls_s
{
  br_ssl_client_context cc ;
  tls_x509 xc ;
  tlsconf conf ;
  int handshaking ;
  unsigned char iobuf[BR_SSL_BUFSIZE_BIDI] ;
} ;

 /* Messages */

static int cat_names (stralloc *sa, x509_cert const *cert)
{
  stralloc dns = STRALLOC_ZERO, ips = STRALLOC_ZERO ;
  int ok = x509_san(cert, &dns, &ips) ;
  size_t start = sa->len ;
  if (ok && !dns.len && !ips.len) ok = x509_cn(cert, &dns) ;
  for (size_t i = 0 ; ok && i < dns.len ; i += strlen(dns.s + i) + 1)
    ok = (sa->len == start || stralloc_cats(sa, ", ")) && stralloc_cats(sa, dns.s + i) ;
  for (size_t i = 0 ; ok && i < ips.len ; i += 1 + (unsigned char)ips.s[i])
  {
    char buf[INET6_ADDRSTRLEN] ;
    if (!inet_ntop(ips.s[i] == 4 ? AF_INET : AF_INET6, ips.s + i + 1, buf, sizeof(buf))) continue ;
    ok = (sa->len == start || stralloc_cats(sa, ", ")) && stralloc_cats(sa, buf) ;
  }
  if (ok && sa->len == start) ok = stralloc_cats(sa, "no name at all") ;
  stralloc_free(&dns) ;
  stralloc_free(&ips) ;
  return ok ;
}

static int cat_time (stralloc *sa, int64_t t)
{
  char buf[X509_TIME_FMT] ;
  size_t n = x509_time_fmt(buf, t) ;
  return stralloc_catb(sa, buf, n) ;
}

static int verify_text (struct conn_tls_s *t, int err, stralloc *sa)
{
  tls_x509 *x = &t->xc ;
  x509_cert cert ;
  int have = x->ee.len && x509_parse((unsigned char const *)x->ee.s, x->ee.len, &cert) ;
  int64_t now = time(0) ;
  if (!stralloc_cats(sa, "TLS certificate verification failed: ")) return 0 ;
  switch (x->why)
  {
    case XW_PIN :
    {
      char const *h = t->conf.pinlen == 32 ? "SHA256" : t->conf.pinlen == 20 ? "SHA1" : "MD5" ;
      unsigned char const *fp = t->conf.pinlen == 32 ? x->sha256 : t->conf.pinlen == 20 ? x->sha1 : x->md5 ;
      return stralloc_cats(sa, "the certificate fingerprint does not match tls_fingerprint; the server's ")
        && stralloc_cats(sa, h) && stralloc_cats(sa, " fingerprint is ") && x509_fingerprint_fmt(sa, fp, t->conf.pinlen) ;
    }
    case XW_REVOKED :
      return stralloc_cats(sa, "the certificate has been revoked (it is listed in the CRL file ")
        && stralloc_cats(sa, t->conf.crlfile) && stralloc_cats(sa, ")") ;
    case XW_CRL_EXPIRED :
      return stralloc_cats(sa, "the CRL in ") && stralloc_cats(sa, t->conf.crlfile)
        && stralloc_cats(sa, " has expired (next update was due ") && cat_time(sa, x->crlnext)
        && stralloc_cats(sa, "); get a current CRL") ;
    case XW_BADCERT :
      return stralloc_cats(sa, "cannot parse the certificate to check it against the CRL") ;
    default : break ;
  }
  switch (err)
  {
    case BR_ERR_X509_NOT_TRUSTED :
      if (!have) break ;
      if (cert.issuer.len == cert.subject.len && !memcmp(cert.issuer.s, cert.subject.s, cert.issuer.len))
        return stralloc_cats(sa, "the certificate is self-signed and not in the trust file ")
          && stralloc_cats(sa, t->conf.trustfile) ;
      return stralloc_cats(sa, "the certificate is not trusted: it was issued by an unknown certificate authority (")
        && x509_dn_string(sa, &cert.issuer) && stralloc_cats(sa, ")") ;
    case BR_ERR_X509_EXPIRED :
      if (!have) break ;
      if (now < cert.notbefore)
        return stralloc_cats(sa, "the certificate is not yet valid (activation time: ") && cat_time(sa, cert.notbefore) && stralloc_cats(sa, ")") ;
      if (now > cert.notafter)
        return stralloc_cats(sa, "the certificate has expired (expiration time: ") && cat_time(sa, cert.notafter) && stralloc_cats(sa, ")") ;
      break ;
    case BR_ERR_X509_BAD_SERVER_NAME :
      if (!have) break ;
      return stralloc_cats(sa, "the name in the certificate does not match: the server is ") && stralloc_cats(sa, t->conf.name)
        && stralloc_cats(sa, ", the certificate is for ") && cat_names(sa, &cert) ;
    default : break ;
  }
  return stralloc_cats(sa, tls_error_text(err)) ;
}

static int alert_text (struct conn_tls_s *t, unsigned int alert, stralloc *sa)
{
  char num[4] = { '0' + alert / 100, '0' + alert / 10 % 10, '0' + alert % 10, 0 } ;
  char const *n = alert >= 100 ? num : alert >= 10 ? num + 1 : num + 2 ;
  int hascert = genalloc_len(br_x509_certificate, &t->conf.chain) > 0 ;
  if (!stralloc_cats(sa, "TLS handshake failed: ")) return 0 ;
  if (alert == BR_ALERT_PROTOCOL_VERSION && t->conf.vmax == BR_TLS12)
    return stralloc_cats(sa, "the server requires TLS 1.3 (it answered with alert 70, protocol_version), "
      "which BearSSL does not support; connect through a TLS 1.3 helper that hands the decrypted stream over on file descriptors 6 and 7 (option -U)") ;
  if (alert == BR_ALERT_HANDSHAKE_FAILURE && !t->xc.n)
    return stralloc_cats(sa, "the server shares no cipher suite with BearSSL (alert 40, handshake_failure); "
      "BearSSL has no DHE key exchange and no TLS 1.3") ;
  if ((alert == BR_ALERT_HANDSHAKE_FAILURE || alert == 116) && !hascert)
    return stralloc_cats(sa, "the server requires a client certificate (alert ") && stralloc_cats(sa, n)
      && stralloc_cats(sa, ", ") && stralloc_cats(sa, tls_alert_name(alert)) && stralloc_cats(sa, "); set tls_cert_file and tls_key_file") ;
  if (hascert && (alert == 42 || alert == 43 || alert == 44 || alert == 45 || alert == 46 || alert == 48 || alert == 49))
    return stralloc_cats(sa, "the server rejected the client certificate (alert ") && stralloc_cats(sa, n)
      && stralloc_cats(sa, ", ") && stralloc_cats(sa, tls_alert_name(alert)) && stralloc_cats(sa, ")") ;
  return stralloc_cats(sa, "the server sent alert ") && stralloc_cats(sa, n) && stralloc_cats(sa, ", ")
    && stralloc_cats(sa, tls_alert_name(alert)) ;
}

static int tls_fail (conn *c, int err)
{
  struct conn_tls_s *t = c->tls ;
  int code ;
  c->err.len = 0 ;
  if (t->xc.nomem) return conn_nomem(c) ;
  if ((err >= BR_ERR_X509_OK && err < BR_ERR_RECV_FATAL_ALERT) || (t->xc.why && err == BR_ERR_X509_NOT_TRUSTED))
  {
    code = EX_UNAVAILABLE ;
    if (!verify_text(t, err, &c->err)) return conn_nomem(c) ;
  }
  else if (err >= BR_ERR_RECV_FATAL_ALERT && err < BR_ERR_SEND_FATAL_ALERT)
  {
    code = t->handshaking ? EX_PROTOCOL : EX_IOERR ;
    if (!alert_text(t, err - BR_ERR_RECV_FATAL_ALERT, &c->err)) return conn_nomem(c) ;
  }
  else
  {
    code = t->handshaking ? EX_PROTOCOL : EX_IOERR ;
    if (!(stralloc_cats(&c->err, t->handshaking ? "TLS handshake failed: " : "TLS connection error: ")
       && stralloc_cats(&c->err, err >= BR_ERR_SEND_FATAL_ALERT ? tls_alert_name(err - BR_ERR_SEND_FATAL_ALERT) : tls_error_text(err))))
      return conn_nomem(c) ;
  }
  if (!stralloc_0(&c->err)) return conn_nomem(c) ;
  c->err.len-- ;
  c->code = code ;
  return code ;
}

 /* The engine loop. want: BR_SSL_SENDAPP or BR_SSL_RECVAPP to wait for
    that state, 0 to push out every pending record. 1 done, 0 EOF, -1
    error (c->code, c->err). */

static int io_fail (conn *c, int w, int timedout)
{
  struct conn_tls_s *t = c->tls ;
  if (t->handshaking)
    return -!!(timedout ? conn_fail(c, EX_PROTOCOL, "TLS handshake failed: the operation timed out")
      : conn_failsys(c, EX_IOERR, "TLS handshake failed: network ", w ? "write" : "read", " error")) ;
  return -!!(timedout ? conn_fail(c, EX_IOERR, "network ", w ? "write" : "read", " error: the operation timed out")
    : conn_failsys(c, EX_IOERR, "network ", w ? "write" : "read", " error")) ;
}

static int wait_fd (conn *c, int w, tain const *deadline)
{
  int r = conn_wait(w ? c->wfd : c->rfd, w ? IOPAUSE_WRITE : IOPAUSE_READ, deadline) ;
  return r > 0 ? 1 : io_fail(c, w, !r) ;
}

static int run (conn *c, unsigned int want, tain const *deadline)
{
  br_ssl_engine_context *eng = &c->tls->cc.eng ;
  for (;;)
  {
    unsigned int st = br_ssl_engine_current_state(eng) ;
    unsigned char *buf ;
    size_t len ;
    ssize_t r ;
    if (st & BR_SSL_CLOSED)
    {
      int e = br_ssl_engine_last_error(eng) ;
      if (e == BR_ERR_OK && !c->tls->handshaking) return 0 ;
      if (e == BR_ERR_OK) return -!!conn_fail(c, EX_PROTOCOL, "TLS handshake failed: the server closed the connection") ;
      return -!!tls_fail(c, e) ;
    }
    if (st & BR_SSL_SENDREC)
    {
      buf = br_ssl_engine_sendrec_buf(eng, &len) ;
      r = write(c->wfd, buf, len) ;
      if (r > 0) { br_ssl_engine_sendrec_ack(eng, r) ; continue ; }
      if (r < 0 && errno == EINTR) continue ;
      if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return io_fail(c, 1, 0) ;
      if (wait_fd(c, 1, deadline) < 0) return -1 ;
      continue ;
    }
    if (!want) return 1 ;
    if (st & want) return 1 ;
    if (!(st & BR_SSL_RECVREC)) return -!!conn_fail(c, EX_SOFTWARE, "TLS engine stalled") ;
    buf = br_ssl_engine_recvrec_buf(eng, &len) ;
    r = read(c->rfd, buf, len) ;
    if (r > 0) { br_ssl_engine_recvrec_ack(eng, r) ; continue ; }
    if (!r)
    {
      if (c->tls->handshaking) return -!!conn_fail(c, EX_PROTOCOL, "TLS handshake failed: the server closed the connection") ;
      return 0 ;
    }
    if (errno == EINTR) continue ;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return io_fail(c, 0, 0) ;
    if (wait_fd(c, 0, deadline) < 0) return -1 ;
  }
}

 /* Setup */

static int setup (struct conn_tls_s *t)
{
  br_ssl_engine_context *eng = &t->cc.eng ;
  tlsconf *tc = &t->conf ;
  unsigned char seed[32] ;
  br_ssl_client_init_full(&t->cc, &t->xc.minimal, genalloc_s(br_x509_trust_anchor, &tc->tas), genalloc_len(br_x509_trust_anchor, &tc->tas)) ;
  tls_x509_init(&t->xc, tc) ;
  br_ssl_engine_set_x509(eng, &t->xc.vtable) ;
  br_ssl_engine_set_versions(eng, tc->vmin, tc->vmax) ;
  br_ssl_engine_set_suites(eng, tc->suites, tc->nsuites) ;
  br_ssl_engine_add_flags(eng, BR_OPT_NO_RENEGOTIATION) ;
  if (tc->haskey)
  {
    br_x509_certificate const *chain = genalloc_s(br_x509_certificate, &tc->chain) ;
    size_t n = genalloc_len(br_x509_certificate, &tc->chain) ;
    if (br_skey_decoder_key_type(&tc->skey) == BR_KEYTYPE_RSA)
      br_ssl_client_set_single_rsa(&t->cc, chain, n, br_skey_decoder_get_rsa(&tc->skey), br_rsa_pkcs1_sign_get_default()) ;
    else
      br_ssl_client_set_single_ec(&t->cc, chain, n, br_skey_decoder_get_ec(&tc->skey), BR_KEYTYPE_KEYX | BR_KEYTYPE_SIGN,
        tc->issuer_keytype, br_ec_get_default(), br_ecdsa_sign_asn1_get_default()) ;
  }
  random_buf((char *)seed, sizeof(seed)) ;
  br_ssl_engine_inject_entropy(eng, seed, sizeof(seed)) ;
  memset(seed, 0, sizeof(seed)) ;
  br_ssl_engine_set_buffer(eng, t->iobuf, sizeof(t->iobuf), 1) ;
  return br_ssl_client_reset(&t->cc, tc->name_is_ip ? 0 : tc->name, 0) ;
}

static void tls_free (struct conn_tls_s *t)
{
  tls_x509_free(&t->xc) ;
  tlsconf_free(&t->conf) ;
  memset(t, 0, sizeof(*t)) ;
  free(t) ;
}

int conn_tls_check (account const *a, stralloc *err)
{
  tlsconf tc = TLSCONF_ZERO ;
  int r = tlsconf_load(&tc, a, err) ;
  tlsconf_free(&tc) ;
  return r ;
}

int conn_tls_start (conn *c, account const *a)
{
  struct conn_tls_s *t = malloc(sizeof(struct conn_tls_s)) ;
  tain deadline ;
  int r ;
  if (!t) return conn_nomem(c) ;
  memset(t, 0, sizeof(*t)) ;
  t->conf = (tlsconf)TLSCONF_ZERO ;
  r = tlsconf_load(&t->conf, a, &c->err) ;
  if (r)
  {
    c->code = r ;
    tls_free(t) ;
    return r ;
  }
  if (!setup(t))
  {
    r = conn_fail(c, EX_SOFTWARE, "cannot initialize TLS: ", tls_error_text(br_ssl_engine_last_error(&t->cc.eng))) ;
    tls_free(t) ;
    return r ;
  }
  c->tls = t ;
  t->handshaking = 1 ;
  conn_deadline(c, &deadline) ;
  r = run(c, BR_SSL_SENDAPP | BR_SSL_RECVAPP, &deadline) ;
  t->handshaking = 0 ;
  return r > 0 ? 0 : c->code ;
}

 /* I/O */

ssize_t conn_tls_read (conn *c, char *buf, size_t max)
{
  br_ssl_engine_context *eng = &c->tls->cc.eng ;
  unsigned char *p ;
  size_t len ;
  tain deadline ;
  int r ;
  conn_deadline(c, &deadline) ;
  r = run(c, BR_SSL_RECVAPP, &deadline) ;
  if (r <= 0) return r ;
  p = br_ssl_engine_recvapp_buf(eng, &len) ;
  if (len > max) len = max ;
  memcpy(buf, p, len) ;
  br_ssl_engine_recvapp_ack(eng, len) ;
  return len ;
}

int conn_tls_write (conn *c, char const *s, size_t len)
{
  br_ssl_engine_context *eng = &c->tls->cc.eng ;
  tain deadline ;
  conn_deadline(c, &deadline) ;
  while (len)
  {
    unsigned char *p ;
    size_t n ;
    int r = run(c, BR_SSL_SENDAPP, &deadline) ;
    if (!r) return conn_fail(c, EX_IOERR, "network write error: the server closed the TLS connection") ;
    if (r < 0) return c->code ;
    p = br_ssl_engine_sendapp_buf(eng, &n) ;
    if (n > len) n = len ;
    memcpy(p, s, n) ;
    br_ssl_engine_sendapp_ack(eng, n) ;
    s += n ; len -= n ;
  }
  br_ssl_engine_flush(eng, 0) ;
  return run(c, 0, &deadline) < 0 ? c->code : 0 ;
}

int conn_tls_pending (conn const *c)
{
  return !!(br_ssl_engine_current_state(&c->tls->cc.eng) & BR_SSL_RECVAPP) ;
}

void conn_tls_close (conn *c)
{
  br_ssl_engine_context *eng = &c->tls->cc.eng ;
  unsigned int st = br_ssl_engine_current_state(eng) ;
  if (!(st & BR_SSL_CLOSED))
  {
    br_ssl_engine_close(eng) ;
    while (br_ssl_engine_current_state(eng) & BR_SSL_SENDREC)
    {
      size_t len ;
      unsigned char *buf = br_ssl_engine_sendrec_buf(eng, &len) ;
      ssize_t w = write(c->wfd, buf, len) ;
      if (w <= 0) break ;
      br_ssl_engine_sendrec_ack(eng, w) ;
    }
  }
  tls_free(c->tls) ;
  c->tls = 0 ;
}

int conn_tls_info (conn const *c, conn_tlsinfo *info)
{
  br_ssl_session_parameters sp ;
  struct conn_tls_s *t = c->tls ;
  if (!t) return 0 ;
  info->version = br_ssl_engine_get_version(&t->cc.eng) ;
  br_ssl_engine_get_session_parameters(&t->cc.eng, &sp) ;
  info->suite = sp.cipher_suite ;
  memset(&sp, 0, sizeof(sp)) ;
  memcpy(info->sha256, t->xc.sha256, 32) ;
  memcpy(info->sha1, t->xc.sha1, 20) ;
  memcpy(info->md5, t->xc.md5, 16) ;
  return stralloc_copyb(&info->cert, t->xc.ee.s, t->xc.ee.len) ;
}

void conn_tlsinfo_free (conn_tlsinfo *info)
{
  stralloc_free(&info->cert) ;
}
