/* ISC license. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sysexits.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include <bearssl.h>

#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>

#include <mpop/conn.h>

#include "tls-internal.h"

#define TLS_FILE_MAX (16 << 20)

static int ferr (stralloc *err, char const *a, char const *b, char const *file, char const *text)
{
  int e = errno ;
  err->len = 0 ;
  if (!(stralloc_cats(err, a) && stralloc_cats(err, b) && stralloc_cats(err, " ") && stralloc_cats(err, file)
     && stralloc_cats(err, ": ") && stralloc_cats(err, text ? text : strerror(e)) && stralloc_0(err)))
    return EX_OSERR ;
  err->len-- ;
  return EX_CONFIG ;
}

static int has_pem (char const *s, size_t len)
{
  for (size_t i = 0 ; i + 11 <= len ; i++)
    if (s[i] == '-' && !memcmp(s + i, "-----BEGIN ", 11)) return 1 ;
  return 0 ;
}

static int slurp_file (char const *file, char const *what, stralloc *sa, stralloc *err)
{
  struct stat st ;
  int fd = open_readb(file) ;
  if (fd < 0) return ferr(err, "cannot read ", what, file, 0) ;
  if (fstat(fd, &st) < 0) goto syserr ;
  if (!S_ISREG(st.st_mode) || st.st_size > TLS_FILE_MAX)
  {
    fd_close(fd) ;
    return ferr(err, "cannot read ", what, file, S_ISREG(st.st_mode) ? "file too large" : "not a regular file") ;
  }
  if (!slurp(sa, fd)) goto syserr ;
  fd_close(fd) ;
  return 0 ;
 syserr:
  {
    int r = ferr(err, "cannot read ", what, file, 0) ;
    fd_close(fd) ;
    return r ;
  }
}

typedef struct sink_s sink ;
struct sink_s
{
  stralloc sa ;
  int nomem ;
} ;

static void sink_append (void *ctx, void const *buf, size_t len)
{
  sink *s = ctx ;
  if (!s->nomem && !stralloc_catb(&s->sa, buf, len)) s->nomem = 1 ;
}

int tls_pem_readfile (char const *file, char const *what, tls_pem_func *f, void *ctx, stralloc *err)
{
  stralloc data = STRALLOC_ZERO ;
  sink obj = { .sa = STRALLOC_ZERO, .nomem = 0 } ;
  br_pem_decoder_context pc ;
  char name[128] = "" ;
  unsigned char const *s ;
  size_t len ;
  int r = slurp_file(file, what, &data, err), inobj = 0 ;
  if (r) return r ;
  if (!has_pem(data.s, data.len))
  {
    r = (*f)(ctx, "", (unsigned char const *)data.s, data.len) ;
    stralloc_free(&data) ;
    return r ;
  }
  if (!stralloc_catb(&data, "\n", 1)) { stralloc_free(&data) ; return EX_OSERR ; }
  br_pem_decoder_init(&pc) ;
  s = (unsigned char const *)data.s ; len = data.len ;
  while (len && !r)
  {
    size_t n = br_pem_decoder_push(&pc, s, len) ;
    s += n ; len -= n ;
    switch (br_pem_decoder_event(&pc))
    {
      case BR_PEM_BEGIN_OBJ :
      {
        char const *nm = br_pem_decoder_name(&pc) ;
        size_t l = strlen(nm) ;
        if (l >= sizeof(name)) l = sizeof(name) - 1 ;
        memcpy(name, nm, l) ;
        name[l] = 0 ;
      }
        obj.sa.len = 0 ;
        br_pem_decoder_setdest(&pc, &sink_append, &obj) ;
        inobj = 1 ;
        break ;
      case BR_PEM_END_OBJ :
        if (obj.nomem) r = EX_OSERR ;
        else if (inobj) r = (*f)(ctx, name, (unsigned char const *)obj.sa.s, obj.sa.len) ;
        inobj = 0 ;
        break ;
      case BR_PEM_ERROR :
        r = ferr(err, what, "", file, "invalid PEM data") ;
        break ;
      default : break ;
    }
  }
  if (!r && inobj) r = ferr(err, what, "", file, "truncated PEM data") ;
  if (obj.sa.s) { memset(obj.sa.s, 0, obj.sa.a) ; stralloc_free(&obj.sa) ; }
  memset(data.s, 0, data.len) ;
  stralloc_free(&data) ;
  return r ;
}

 /* Trust anchors */

typedef struct anchors_ctx_s anchors_ctx ;
struct anchors_ctx_s
{
  tlsconf *tc ;
  unsigned int skipped ;
} ;

static int add_anchor (void *vctx, char const *name, unsigned char const *der, size_t len)
{
  anchors_ctx *ctx = vctx ;
  br_x509_decoder_context dc ;
  sink dn = { .sa = STRALLOC_ZERO, .nomem = 0 } ;
  br_x509_trust_anchor ta ;
  br_x509_pkey const *pk ;
  size_t klen ;
  unsigned char *block ;
  if (*name && strcmp(name, "CERTIFICATE") && strcmp(name, "X509 CERTIFICATE")) return 0 ;
  br_x509_decoder_init(&dc, &sink_append, &dn) ;
  br_x509_decoder_push(&dc, der, len) ;
  pk = br_x509_decoder_get_pkey(&dc) ;
  if (dn.nomem) { stralloc_free(&dn.sa) ; return EX_OSERR ; }
  if (!pk) { ctx->skipped++ ; stralloc_free(&dn.sa) ; return 0 ; }
  klen = pk->key_type == BR_KEYTYPE_RSA ? pk->key.rsa.nlen + pk->key.rsa.elen : pk->key.ec.qlen ;
  block = malloc(dn.sa.len + klen + 1) ;
  if (!block) { stralloc_free(&dn.sa) ; return EX_OSERR ; }
  memcpy(block, dn.sa.s, dn.sa.len) ;
  ta.dn.data = block ;
  ta.dn.len = dn.sa.len ;
  ta.flags = br_x509_decoder_isCA(&dc) ? BR_X509_TA_CA : 0 ;
  ta.pkey.key_type = pk->key_type ;
  if (pk->key_type == BR_KEYTYPE_RSA)
  {
    unsigned char *n = block + dn.sa.len ;
    memcpy(n, pk->key.rsa.n, pk->key.rsa.nlen) ;
    memcpy(n + pk->key.rsa.nlen, pk->key.rsa.e, pk->key.rsa.elen) ;
    ta.pkey.key.rsa.n = n ; ta.pkey.key.rsa.nlen = pk->key.rsa.nlen ;
    ta.pkey.key.rsa.e = n + pk->key.rsa.nlen ; ta.pkey.key.rsa.elen = pk->key.rsa.elen ;
  }
  else
  {
    memcpy(block + dn.sa.len, pk->key.ec.q, pk->key.ec.qlen) ;
    ta.pkey.key.ec.curve = pk->key.ec.curve ;
    ta.pkey.key.ec.q = block + dn.sa.len ;
    ta.pkey.key.ec.qlen = pk->key.ec.qlen ;
  }
  stralloc_free(&dn.sa) ;
  if (!genalloc_append(br_x509_trust_anchor, &ctx->tc->tas, &ta)) { free(block) ; return EX_OSERR ; }
  return 0 ;
}

static int load_anchors (tlsconf *tc, char const *file, stralloc *err)
{
  anchors_ctx ctx = { .tc = tc, .skipped = 0 } ;
  int r = tls_pem_readfile(file, "trust file", &add_anchor, &ctx, err) ;
  if (r) return r ;
  if (!genalloc_len(br_x509_trust_anchor, &tc->tas))
    return ferr(err, "trust file", "", file, "no usable certificate in it") ;
  return 0 ;
}

 /* Client certificate and key */

static int add_cert (void *vctx, char const *name, unsigned char const *der, size_t len)
{
  tlsconf *tc = vctx ;
  br_x509_certificate xc ;
  if (*name && strcmp(name, "CERTIFICATE") && strcmp(name, "X509 CERTIFICATE")) return 0 ;
  xc.data = malloc(len ? len : 1) ;
  if (!xc.data) return EX_OSERR ;
  memcpy(xc.data, der, len) ;
  xc.data_len = len ;
  if (!genalloc_append(br_x509_certificate, &tc->chain, &xc)) { free(xc.data) ; return EX_OSERR ; }
  return 0 ;
}

typedef struct key_ctx_s key_ctx ;
struct key_ctx_s
{
  tlsconf *tc ;
  int encrypted ;
} ;

static int add_key (void *vctx, char const *name, unsigned char const *der, size_t len)
{
  key_ctx *ctx = vctx ;
  if (!strcmp(name, "ENCRYPTED PRIVATE KEY")) { ctx->encrypted = 1 ; return 0 ; }
  if (*name && strcmp(name, "PRIVATE KEY") && strcmp(name, "RSA PRIVATE KEY") && strcmp(name, "EC PRIVATE KEY")) return 0 ;
  if (ctx->tc->haskey) return 0 ;
  br_skey_decoder_init(&ctx->tc->skey) ;
  br_skey_decoder_push(&ctx->tc->skey, der, len) ;
  if (!br_skey_decoder_last_error(&ctx->tc->skey) && br_skey_decoder_key_type(&ctx->tc->skey)) ctx->tc->haskey = 1 ;
  return 0 ;
}

 /* Signs with the private key and verifies with the certificate's key */
static int key_matches (tlsconf *tc, br_x509_pkey const *pk)
{
  static unsigned char const hash[32] = "mpop: does the key match the ce" ;
  unsigned char sig[1024], out[32] ;
  if (br_skey_decoder_key_type(&tc->skey) == BR_KEYTYPE_RSA)
  {
    br_rsa_private_key const *sk = br_skey_decoder_get_rsa(&tc->skey) ;
    size_t siglen = (sk->n_bitlen + 7) >> 3 ;
    if (pk->key_type != BR_KEYTYPE_RSA || siglen > sizeof(sig)) return 0 ;
    if (!br_rsa_pkcs1_sign_get_default()(BR_HASH_OID_SHA256, hash, 32, sk, sig)) return 0 ;
    if (!br_rsa_pkcs1_vrfy_get_default()(sig, siglen, BR_HASH_OID_SHA256, 32, &pk->key.rsa, out)) return 0 ;
    return !memcmp(out, hash, 32) ;
  }
  else
  {
    br_ec_private_key const *sk = br_skey_decoder_get_ec(&tc->skey) ;
    size_t siglen ;
    if (pk->key_type != BR_KEYTYPE_EC || pk->key.ec.curve != sk->curve) return 0 ;
    siglen = br_ecdsa_sign_asn1_get_default()(br_ec_get_default(), &br_sha256_vtable, hash, sk, sig) ;
    if (!siglen) return 0 ;
    return !!br_ecdsa_vrfy_asn1_get_default()(br_ec_get_default(), hash, 32, &pk->key.ec, sig, siglen) ;
  }
}

static int load_client (tlsconf *tc, char const *certfile, char const *keyfile, stralloc *err)
{
  key_ctx kctx = { .tc = tc, .encrypted = 0 } ;
  br_x509_decoder_context dc ;
  br_x509_certificate const *first ;
  br_x509_pkey const *pk ;
  int r = tls_pem_readfile(certfile, "certificate file", &add_cert, tc, err) ;
  if (r) return r ;
  if (!genalloc_len(br_x509_certificate, &tc->chain)) return ferr(err, "certificate file", "", certfile, "no certificate in it") ;
  r = tls_pem_readfile(keyfile, "key file", &add_key, &kctx, err) ;
  if (r) return r ;
  if (!tc->haskey)
    return ferr(err, "key file", "", keyfile, kctx.encrypted ? "the key is encrypted (BearSSL reads only unencrypted keys)" : "no usable RSA or EC private key in it") ;
  first = genalloc_s(br_x509_certificate, &tc->chain) ;
  br_x509_decoder_init(&dc, 0, 0) ;
  br_x509_decoder_push(&dc, first->data, first->data_len) ;
  pk = br_x509_decoder_get_pkey(&dc) ;
  if (!pk) return ferr(err, "certificate file", "", certfile, "cannot decode the certificate") ;
  tc->issuer_keytype = br_x509_decoder_get_signer_key_type(&dc) ;
  if (!key_matches(tc, pk))
  {
    err->len = 0 ;
    if (!(stralloc_cats(err, "the key in ") && stralloc_cats(err, keyfile) && stralloc_cats(err, " does not match the certificate in ")
       && stralloc_cats(err, certfile) && stralloc_0(err))) return EX_OSERR ;
    err->len-- ;
    return EX_CONFIG ;
  }
  return 0 ;
}

 /* Everything */

static int say (stralloc *err, char const *a, char const *b)
{
  err->len = 0 ;
  if (!(stralloc_cats(err, a) && stralloc_cats(err, b) && stralloc_0(err))) return EX_OSERR ;
  err->len-- ;
  return EX_CONFIG ;
}

 /* With AES and carry-less multiplication in hardware, AES-GCM costs
    less than half the CPU of ChaCha20-Poly1305 (GnuTLS and OpenSSL judge
    so too): the ChaCha20 suites go after the last AES-GCM one, the order
    is kept otherwise. */
static unsigned int cipher_of (uint16_t id)
{
  for (unsigned int i = 0 ; i < TLS_NSUITES ; i++) if (tls_suites[i].id == id) return tls_suites[i].cipher ;
  return 0 ;
}

static void chacha_after_gcm (uint16_t *suites, size_t n)
{
  uint16_t out[TLS_NSUITES] ;
  size_t k = 0, end = 0 ;
  for (size_t i = 0 ; i < n ; i++) if (cipher_of(suites[i]) & (TLS_C_AES128GCM | TLS_C_AES256GCM)) end = i + 1 ;
  for (size_t i = 0 ; i < end ; i++) if (!(cipher_of(suites[i]) & TLS_C_CHACHA20)) out[k++] = suites[i] ;
  for (size_t i = 0 ; i < end ; i++) if (cipher_of(suites[i]) & TLS_C_CHACHA20) out[k++] = suites[i] ;
  memcpy(suites, out, end * sizeof(uint16_t)) ;
}

int tlsconf_load (tlsconf *tc, account const *a, stralloc *err)
{
  char const *trust = a->v[S_TLS_TRUST_FILE] ;
  int r ;
  tc->certcheck = settings_onoff(a->v[S_TLS_CERTCHECK]) ;
  tc->name = a->v[S_TLS_HOST_OVERRIDE] ? a->v[S_TLS_HOST_OVERRIDE] : a->v[S_HOST] ;
  if (tc->name)
  {
    unsigned int n = conn_ip_literal(tc->name, (char *)tc->ip) ;
    if (n) { tc->name_is_ip = 1 ; tc->iplen = n ; }
    else if (strchr(tc->name, ':') && inet_pton(AF_INET6, tc->name, tc->ip) == 1) { tc->name_is_ip = 1 ; tc->iplen = 16 ; }
  }
  if (a->v[S_TLS_FINGERPRINT] && !settings_fingerprint(a->v[S_TLS_FINGERPRINT], tc->pin, &tc->pinlen))
    return say(err, "invalid tls_fingerprint ", a->v[S_TLS_FINGERPRINT]) ;
  if (a->v[S_TLS_PRIORITIES])
  {
    r = tls_priorities(a->v[S_TLS_PRIORITIES], &tc->vmin, &tc->vmax, tc->suites, &tc->nsuites, err) ;
    if (r) return r ;
  }
  else
  {
    for (unsigned int i = 0 ; i < TLS_NSUITES ; i++) tc->suites[i] = tls_suites[i].id ;
    tc->nsuites = TLS_NSUITES ;
  }
  if (br_aes_x86ni_ctr_get_vtable() && br_ghash_pclmul_get()) chacha_after_gcm(tc->suites, tc->nsuites) ;
  if (tc->certcheck && !tc->pinlen)
  {
    if (!trust) return say(err, "tls requires either tls_trust_file or tls_fingerprint or a disabled tls_certcheck", "") ;
    tc->trustfile = strcmp(trust, "system") ? trust : MPOP_SYSTEM_TRUST_FILE ;
    r = load_anchors(tc, tc->trustfile, err) ;
    if (r) return r ;
    if (a->v[S_TLS_CRL_FILE])
    {
      tc->crlfile = a->v[S_TLS_CRL_FILE] ;
      r = tls_crl_load(tc, tc->crlfile, err) ;
      if (r) return r ;
    }
  }
  if (a->v[S_TLS_CERT_FILE] || a->v[S_TLS_KEY_FILE])
  {
    if (!a->v[S_TLS_CERT_FILE] || !a->v[S_TLS_KEY_FILE])
      return say(err, "tls_cert_file and tls_key_file must be set together", "") ;
    r = load_client(tc, a->v[S_TLS_CERT_FILE], a->v[S_TLS_KEY_FILE], err) ;
    if (r) return r ;
  }
  return 0 ;
}

void tlsconf_free (tlsconf *tc)
{
  br_x509_trust_anchor *ta = genalloc_s(br_x509_trust_anchor, &tc->tas) ;
  br_x509_certificate *xc = genalloc_s(br_x509_certificate, &tc->chain) ;
  tls_crl *crl = genalloc_s(tls_crl, &tc->crls) ;
  for (size_t i = 0 ; i < genalloc_len(br_x509_trust_anchor, &tc->tas) ; i++) free(ta[i].dn.data) ;
  for (size_t i = 0 ; i < genalloc_len(br_x509_certificate, &tc->chain) ; i++) free(xc[i].data) ;
  for (size_t i = 0 ; i < genalloc_len(tls_crl, &tc->crls) ; i++) free(crl[i].der) ;
  genalloc_free(br_x509_trust_anchor, &tc->tas) ;
  genalloc_free(br_x509_certificate, &tc->chain) ;
  genalloc_free(tls_crl, &tc->crls) ;
  memset(&tc->skey, 0, sizeof(tc->skey)) ;
  tc->haskey = 0 ;
}
