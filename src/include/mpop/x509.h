/* ISC license. */

#ifndef MPOP_X509_H
#define MPOP_X509_H

#include <stddef.h>
#include <stdint.h>

#include <skalibs/stralloc.h>

 /* Just enough DER and X.509 for what BearSSL does not expose: names,
    validity, serial, subjectAltName of a certificate, and the fields of a
    CRL. Every parser is bounded by its input and returns 0 on malformed
    data. */

typedef struct der_span_s der_span, *der_span_ref ;
struct der_span_s
{
  unsigned char const *s ;
  size_t len ;
} ;

 /* One TLV at the start of in: 1 and the tag, the content and the whole
    TLV; 0 if malformed. in is advanced past the TLV. */
extern int der_get (der_span *in, unsigned int *tag, der_span *content, der_span *whole) ;

 /* An ASN.1 UTCTime or GeneralizedTime (tag given) to Unix seconds */
extern int der_time (unsigned int tag, der_span const *content, int64_t *t) ;

typedef struct x509_cert_s x509_cert, *x509_cert_ref ;
struct x509_cert_s
{
  der_span serial ;       /* INTEGER content */
  der_span issuer ;       /* whole Name TLV */
  der_span subject ;      /* whole Name TLV */
  int64_t notbefore ;
  int64_t notafter ;
  der_span extensions ;   /* content of the Extensions SEQUENCE, or empty */
} ;

extern int x509_parse (unsigned char const *der, size_t len, x509_cert *) ;

 /* A Name as text, in the order of the certificate, as mpop (GnuTLS)
    prints it ("O=Example,CN=localhost"), with RFC 4514 escaping. Appends
    to sa (no NUL). */
extern int x509_dn_string (stralloc *sa, der_span const *name) ;

 /* subjectAltName entries: dNSName values appended to dns as
    NUL-terminated strings, iPAddress values (4 or 16 bytes, each prefixed
    by its length byte) to ips. 1 ok (also when there is none), 0 malformed
    or no memory. */
extern int x509_san (x509_cert const *, stralloc *dns, stralloc *ips) ;

 /* Subject common names, NUL-terminated strings appended to sa */
extern int x509_cn (x509_cert const *, stralloc *sa) ;

 /* Local time as mpop prints it ("Thu Nov 26 16:43:28 2026") */
#define X509_TIME_FMT 64
extern size_t x509_time_fmt (char *s, int64_t t) ;

 /* "AB:CD:..." upper case */
extern int x509_fingerprint_fmt (stralloc *sa, unsigned char const *h, size_t len) ;

typedef struct x509_crl_s x509_crl, *x509_crl_ref ;
struct x509_crl_s
{
  der_span tbs ;          /* whole tbsCertList TLV: what the signature covers */
  der_span sigalg ;       /* OID content of the signature algorithm */
  der_span sig ;          /* signature bytes (BIT STRING without the unused-bits byte) */
  der_span issuer ;       /* whole Name TLV */
  int64_t thisupdate ;
  int64_t nextupdate ;    /* -1 if absent */
  der_span revoked ;      /* content of revokedCertificates, or empty */
} ;

extern int x509_crl_parse (unsigned char const *der, size_t len, x509_crl *) ;

 /* Whether the serial (INTEGER content) is listed: 1 yes, 0 no, -1 malformed */
extern int x509_crl_lists (x509_crl const *, der_span const *serial) ;

#endif
