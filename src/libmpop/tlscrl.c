/* ISC license. */

#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <bearssl.h>

#include <skalibs/genalloc.h>
#include <skalibs/stralloc.h>

#include <mpop/x509.h>
#include "tls-internal.h"

 /* BearSSL has no CRL support: CRLs are parsed here, their signature is
    checked with the issuing CA's key from the trust file, and the X.509
    engine (tlsx509.c) looks certificates up in them. */

static struct sigalg_s
{
  unsigned char len ;
  unsigned char oid[9] ;
  int rsa ;
  br_hash_class const *hash ;
  unsigned char const *hash_oid ;
} const sigalgs[] =
{
  { 9, { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05 }, 1, &br_sha1_vtable, BR_HASH_OID_SHA1 },
  { 9, { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0e }, 1, &br_sha224_vtable, BR_HASH_OID_SHA224 },
  { 9, { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b }, 1, &br_sha256_vtable, BR_HASH_OID_SHA256 },
  { 9, { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c }, 1, &br_sha384_vtable, BR_HASH_OID_SHA384 },
  { 9, { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d }, 1, &br_sha512_vtable, BR_HASH_OID_SHA512 },
  { 7, { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x01 }, 0, &br_sha1_vtable, 0 },
  { 8, { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x01 }, 0, &br_sha224_vtable, 0 },
  { 8, { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02 }, 0, &br_sha256_vtable, 0 },
  { 8, { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03 }, 0, &br_sha384_vtable, 0 },
  { 8, { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04 }, 0, &br_sha512_vtable, 0 },
  { 0, { 0 }, 0, 0, 0 }
} ;

 /* The anchor whose subject DN is the CRL's issuer (raw DER comparison) */
static br_x509_trust_anchor const *find_issuer (tlsconf const *tc, der_span const *issuer)
{
  br_x509_trust_anchor const *ta = genalloc_s(br_x509_trust_anchor, &tc->tas) ;
  size_t n = genalloc_len(br_x509_trust_anchor, &tc->tas) ;
  for (size_t i = 0 ; i < n ; i++)
    if (ta[i].dn.len == issuer->len && !memcmp(ta[i].dn.data, issuer->s, issuer->len)) return &ta[i] ;
  return 0 ;
}

static int verify (x509_crl const *crl, br_x509_pkey const *pk)
{
  struct sigalg_s const *alg = sigalgs ;
  br_hash_compat_context hc ;
  unsigned char hash[64], out[64] ;
  size_t hlen ;
  for (; alg->len ; alg++)
    if (alg->len == crl->sigalg.len && !memcmp(alg->oid, crl->sigalg.s, alg->len)) break ;
  if (!alg->len) return 0 ;
  alg->hash->init(&hc.vtable) ;
  alg->hash->update(&hc.vtable, crl->tbs.s, crl->tbs.len) ;
  alg->hash->out(&hc.vtable, hash) ;
  hlen = (alg->hash->desc >> BR_HASHDESC_OUT_OFF) & BR_HASHDESC_OUT_MASK ;
  if (alg->rsa)
  {
    if (pk->key_type != BR_KEYTYPE_RSA) return 0 ;
    if (!br_rsa_pkcs1_vrfy_get_default()(crl->sig.s, crl->sig.len, alg->hash_oid, hlen, &pk->key.rsa, out)) return 0 ;
    return !memcmp(out, hash, hlen) ;
  }
  if (pk->key_type != BR_KEYTYPE_EC) return 0 ;
  return !!br_ecdsa_vrfy_asn1_get_default()(br_ec_get_default(), hash, hlen, &pk->key.ec, crl->sig.s, crl->sig.len) ;
}

typedef struct crl_ctx_s crl_ctx ;
struct crl_ctx_s
{
  tlsconf *tc ;
  char const *file ;
  stralloc *err ;
} ;

static int crlerr (crl_ctx *ctx, char const *a, char const *b)
{
  stralloc *err = ctx->err ;
  err->len = 0 ;
  if (!(stralloc_cats(err, "CRL file ") && stralloc_cats(err, ctx->file) && stralloc_cats(err, ": ")
     && stralloc_cats(err, a) && stralloc_cats(err, b) && stralloc_0(err))) return EX_OSERR ;
  err->len-- ;
  return EX_CONFIG ;
}

static int add_crl (void *vctx, char const *name, unsigned char const *der, size_t len)
{
  crl_ctx *ctx = vctx ;
  tls_crl c ;
  br_x509_trust_anchor const *ta ;
  if (*name && strcmp(name, "X509 CRL")) return 0 ;
  c.der = malloc(len ? len : 1) ;
  if (!c.der) return EX_OSERR ;
  memcpy(c.der, der, len) ;
  if (!x509_crl_parse(c.der, len, &c.crl)) { free(c.der) ; return crlerr(ctx, "malformed CRL", "") ; }
  ta = find_issuer(ctx->tc, &c.crl.issuer) ;
  if (!ta)
  {
    stralloc dn = STRALLOC_ZERO ;
    int r ;
    if (!x509_dn_string(&dn, &c.crl.issuer) || !stralloc_0(&dn)) { free(c.der) ; stralloc_free(&dn) ; return EX_OSERR ; }
    r = crlerr(ctx, "cannot verify the CRL: its issuer is not in the trust file: ", dn.s) ;
    stralloc_free(&dn) ;
    free(c.der) ;
    return r ;
  }
  if (!verify(&c.crl, &ta->pkey)) { free(c.der) ; return crlerr(ctx, "the CRL's signature is invalid or uses an unsupported algorithm", "") ; }
  if (!genalloc_append(tls_crl, &ctx->tc->crls, &c)) { free(c.der) ; return EX_OSERR ; }
  return 0 ;
}

int tls_crl_load (tlsconf *tc, char const *file, stralloc *err)
{
  crl_ctx ctx = { .tc = tc, .file = file, .err = err } ;
  int r = tls_pem_readfile(file, "CRL file", &add_crl, &ctx, err) ;
  if (r) return r ;
  if (!genalloc_len(tls_crl, &tc->crls)) return crlerr(&ctx, "no CRL in it", "") ;
  return 0 ;
}
