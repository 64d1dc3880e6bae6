/* ISC license. */

#ifndef MPOP_TLS_INTERNAL_H
#define MPOP_TLS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <bearssl.h>

#include <skalibs/genalloc.h>
#include <skalibs/stralloc.h>

#include <mpop/account.h>
#include <mpop/conn.h>
#include <mpop/x509.h>

#define MPOP_SYSTEM_TRUST_FILE "/etc/ssl/certs/ca-certificates.crt"

 /* The cipher suites BearSSL's full client offers, in its order, with
    what tls_priorities can select them by. */
#define TLS_KX_ECDHE_ECDSA 0x01
#define TLS_KX_ECDHE_RSA 0x02
#define TLS_KX_ECDH_ECDSA 0x04
#define TLS_KX_ECDH_RSA 0x08
#define TLS_KX_RSA 0x10
#define TLS_C_AES128GCM 0x001
#define TLS_C_AES256GCM 0x002
#define TLS_C_CHACHA20 0x004
#define TLS_C_AES128CCM 0x008
#define TLS_C_AES256CCM 0x010
#define TLS_C_AES128CCM8 0x020
#define TLS_C_AES256CCM8 0x040
#define TLS_C_AES128CBC 0x080
#define TLS_C_AES256CBC 0x100
#define TLS_C_3DES 0x200
#define TLS_M_AEAD 0x01
#define TLS_M_SHA1 0x02
#define TLS_M_SHA256 0x04
#define TLS_M_SHA384 0x08

typedef struct tls_suite_s tls_suite, *tls_suite_ref ;
struct tls_suite_s
{
  uint16_t id ;
  char const *name ;
  unsigned char kx ;
  uint16_t cipher ;
  unsigned char mac ;
} ;
extern tls_suite const tls_suites[] ;
#define TLS_NSUITES 45

 /* tls_priorities: versions and suites, or a code with the reason in err */
extern int tls_priorities (char const *s, unsigned int *vmin, unsigned int *vmax, uint16_t *suites, size_t *n, stralloc *err) ;

typedef struct tls_crl_s tls_crl, *tls_crl_ref ;
struct tls_crl_s
{
  unsigned char *der ;
  x509_crl crl ;
} ;

 /* Everything the settings say about TLS, loaded and checked */
typedef struct tlsconf_s tlsconf, *tlsconf_ref ;
struct tlsconf_s
{
  int certcheck ;
  unsigned char pin[32] ;
  size_t pinlen ;                 /* 0, 16 (MD5), 20 (SHA-1), 32 (SHA-256) */
  genalloc tas ;                  /* br_x509_trust_anchor; dn.data holds dn and key */
  genalloc crls ;                 /* tls_crl */
  char const *trustfile ;
  char const *crlfile ;
  genalloc chain ;                /* br_x509_certificate, data malloc'ed */
  br_skey_decoder_context skey ;
  int haskey ;
  int issuer_keytype ;            /* of the client certificate's signer */
  unsigned int vmin ;
  unsigned int vmax ;
  uint16_t suites[TLS_NSUITES] ;
  size_t nsuites ;
  char const *name ;              /* name to check: tls_host_override or host */
  int name_is_ip ;
  unsigned char ip[16] ;
  size_t iplen ;
} ;
#define TLSCONF_ZERO { .certcheck = 1, .pinlen = 0, .tas = GENALLOC_ZERO, .crls = GENALLOC_ZERO, .trustfile = 0, .crlfile = 0, .chain = GENALLOC_ZERO, .haskey = 0, .issuer_keytype = 0, .vmin = BR_TLS10, .vmax = BR_TLS12, .nsuites = 0, .name = 0, .name_is_ip = 0, .iplen = 0 }

extern int tlsconf_load (tlsconf *, account const *, stralloc *err) ;
extern void tlsconf_free (tlsconf *) ;

 /* PEM (or DER) file reading: calls f for every object (DER) with its
    PEM name ("" for a DER file). 0 or a code with err set. */
typedef int tls_pem_func (void *ctx, char const *name, unsigned char const *der, size_t len) ;
extern int tls_pem_readfile (char const *file, char const *what, tls_pem_func *f, void *ctx, stralloc *err) ;

 /* CRLs: load (verifying each against the anchors) */
extern int tls_crl_load (tlsconf *, char const *file, stralloc *err) ;

 /* The X.509 engine: BearSSL's minimal engine plus pinning, certcheck
    off, IP address names, CRLs, and a copy of what the server sent. */
#define XW_OK 0
#define XW_PIN 1
#define XW_REVOKED 2
#define XW_CRL_EXPIRED 3
#define XW_IPNAME 4
#define XW_BADCERT 5

typedef struct tls_x509_s tls_x509, *tls_x509_ref ;
struct tls_x509_s
{
  br_x509_class const *vtable ;
  br_x509_minimal_context minimal ;
  br_x509_decoder_context dec ;
  br_sha256_context h256 ;
  br_sha1_context h1 ;
  br_md5_context h5 ;
  tlsconf const *conf ;
  unsigned int n ;                /* certificates received */
  int usedec ;
  int inner ;                     /* x509_minimal's verdict */
  int why ;                       /* XW_* */
  int nomem ;
  int64_t crlnext ;              /* nextUpdate of an expired CRL */
  stralloc cur ;                  /* DER of the certificate being received */
  stralloc ee ;                   /* DER of the end-entity certificate */
  unsigned char sha256[32] ;
  unsigned char sha1[20] ;
  unsigned char md5[16] ;
} ;

extern void tls_x509_init (tls_x509 *, tlsconf const *) ;
extern void tls_x509_free (tls_x509 *) ;

 /* Messages */
extern char const *tls_alert_name (unsigned int) ;
extern char const *tls_error_text (int) ;

#endif
