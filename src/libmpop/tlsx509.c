/* ISC license. */

#include <string.h>
#include <time.h>

#include <bearssl.h>

#include <skalibs/genalloc.h>
#include <skalibs/stralloc.h>

#include <mpop/x509.h>
#include "tls-internal.h"

 /* A BearSSL X.509 engine wrapping x509_minimal: it forwards everything,
    keeps the server's end-entity certificate and its fingerprints, checks
    CRLs and IP address names, and decides by the settings: no check at
    all (tls_certcheck off), the pinned fingerprint alone, or the CA chain
    plus names plus CRLs. */

#define CERT_MAX 65536

static void start_chain (br_x509_class const **ctx, char const *server_name)
{
  tls_x509 *x = (tls_x509 *)ctx ;
  x->minimal.vtable->start_chain(&x->minimal.vtable, x->conf->name_is_ip ? 0 : server_name) ;
  x->n = 0 ;
  x->usedec = 0 ;
  x->inner = 0 ;
  x->why = XW_OK ;
  x->ee.len = 0 ;
}

static void start_cert (br_x509_class const **ctx, uint32_t length)
{
  tls_x509 *x = (tls_x509 *)ctx ;
  x->minimal.vtable->start_cert(&x->minimal.vtable, length) ;
  x->cur.len = 0 ;
  if (!x->n)
  {
    br_sha256_init(&x->h256) ;
    br_sha1_init(&x->h1) ;
    br_md5_init(&x->h5) ;
    br_x509_decoder_init(&x->dec, 0, 0) ;
  }
}

static void append (br_x509_class const **ctx, unsigned char const *buf, size_t len)
{
  tls_x509 *x = (tls_x509 *)ctx ;
  x->minimal.vtable->append(&x->minimal.vtable, buf, len) ;
  if (x->cur.len + len <= CERT_MAX && !stralloc_catb(&x->cur, (char const *)buf, len)) x->nomem = 1 ;
  if (!x->n)
  {
    br_sha256_update(&x->h256, buf, len) ;
    br_sha1_update(&x->h1, buf, len) ;
    br_md5_update(&x->h5, buf, len) ;
    br_x509_decoder_push(&x->dec, buf, len) ;
  }
}

 /* Looks the certificate up in the CRLs of its issuer */
static void check_crls (tls_x509 *x)
{
  tls_crl const *crl = genalloc_s(tls_crl, &x->conf->crls) ;
  size_t n = genalloc_len(tls_crl, &x->conf->crls) ;
  x509_cert cert ;
  if (!n || x->why) return ;
  if (!x509_parse((unsigned char const *)x->cur.s, x->cur.len, &cert)) { x->why = XW_BADCERT ; return ; }
  for (size_t i = 0 ; i < n ; i++)
  {
    if (crl[i].crl.issuer.len != cert.issuer.len || memcmp(crl[i].crl.issuer.s, cert.issuer.s, cert.issuer.len)) continue ;
    if (crl[i].crl.nextupdate >= 0 && crl[i].crl.nextupdate < (int64_t)time(0)) { x->why = XW_CRL_EXPIRED ; x->crlnext = crl[i].crl.nextupdate ; return ; }
    switch (x509_crl_lists(&crl[i].crl, &cert.serial))
    {
      case 0 : break ;
      case 1 : x->why = XW_REVOKED ; return ;
      default : x->why = XW_BADCERT ; return ;
    }
  }
}

static void end_cert (br_x509_class const **ctx)
{
  tls_x509 *x = (tls_x509 *)ctx ;
  x->minimal.vtable->end_cert(&x->minimal.vtable) ;
  if (!x->n)
  {
    br_sha256_out(&x->h256, x->sha256) ;
    br_sha1_out(&x->h1, x->sha1) ;
    br_md5_out(&x->h5, x->md5) ;
    if (!stralloc_copyb(&x->ee, x->cur.s, x->cur.len)) x->nomem = 1 ;
  }
  if (x->conf->certcheck && !x->conf->pinlen) check_crls(x) ;
  x->n++ ;
}

static int ip_matches (tls_x509 *x)
{
  stralloc dns = STRALLOC_ZERO, ips = STRALLOC_ZERO ;
  x509_cert cert ;
  int ok = 0 ;
  if (x509_parse((unsigned char const *)x->ee.s, x->ee.len, &cert) && x509_san(&cert, &dns, &ips))
    for (size_t i = 0 ; i < ips.len ; i += 1 + (unsigned char)ips.s[i])
      if ((unsigned char)ips.s[i] == x->conf->iplen && !memcmp(ips.s + i + 1, x->conf->ip, x->conf->iplen)) { ok = 1 ; break ; }
  stralloc_free(&dns) ;
  stralloc_free(&ips) ;
  return ok ;
}

static unsigned int end_chain (br_x509_class const **ctx)
{
  tls_x509 *x = (tls_x509 *)ctx ;
  tlsconf const *tc = x->conf ;
  x->inner = x->minimal.vtable->end_chain(&x->minimal.vtable) ;
  if (!x->n) return BR_ERR_X509_EMPTY_CHAIN ;
  if (!tc->certcheck || tc->pinlen)
  {
    unsigned char const *fp = tc->pinlen == 32 ? x->sha256 : tc->pinlen == 20 ? x->sha1 : x->md5 ;
    if (tc->certcheck && memcmp(fp, tc->pin, tc->pinlen)) { x->why = XW_PIN ; return BR_ERR_X509_NOT_TRUSTED ; }
    if (!br_x509_decoder_get_pkey(&x->dec)) return br_x509_decoder_last_error(&x->dec) ;
    x->usedec = 1 ;
    x->why = XW_OK ;
    return 0 ;
  }
  if (x->inner) return x->inner ;
  if (x->why) return BR_ERR_X509_NOT_TRUSTED ;
  if (tc->name_is_ip && !ip_matches(x)) { x->why = XW_IPNAME ; return BR_ERR_X509_BAD_SERVER_NAME ; }
  return 0 ;
}

static br_x509_pkey const *get_pkey (br_x509_class const *const *ctx, unsigned int *usages)
{
  tls_x509 *x = (tls_x509 *)ctx ;
  if (x->usedec)
  {
    if (usages) *usages = BR_KEYTYPE_KEYX | BR_KEYTYPE_SIGN ;
    return br_x509_decoder_get_pkey(&x->dec) ;
  }
  return x->minimal.vtable->get_pkey(&x->minimal.vtable, usages) ;
}

static br_x509_class const vtable =
{
  .context_size = sizeof(tls_x509),
  .start_chain = &start_chain,
  .start_cert = &start_cert,
  .append = &append,
  .end_cert = &end_cert,
  .end_chain = &end_chain,
  .get_pkey = &get_pkey
} ;

void tls_x509_init (tls_x509 *x, tlsconf const *tc)
{
  br_x509_minimal_init_full(&x->minimal, genalloc_s(br_x509_trust_anchor, &tc->tas), genalloc_len(br_x509_trust_anchor, &tc->tas)) ;
  x->vtable = &vtable ;
  x->conf = tc ;
  x->n = 0 ;
  x->usedec = 0 ;
  x->inner = 0 ;
  x->why = XW_OK ;
  x->nomem = 0 ;
  x->cur = stralloc_zero ;
  x->ee = stralloc_zero ;
}

void tls_x509_free (tls_x509 *x)
{
  stralloc_free(&x->cur) ;
  stralloc_free(&x->ee) ;
}
