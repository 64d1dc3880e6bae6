/* ISC license. */

 /* libFuzzer target for the DER and X.509 helpers that read what a server
    sends in its certificate (names, validity, subjectAltName, as pop3info
    and the TLS error messages show them) and the CRL file. The input is a
    certificate or a CRL in DER. Properties:
    - no read outside the input; every span the parsers return lies inside
      it;
    - the distinguished name text is as long as RFC 4514 escaping and the
      "#hex" form can make it, no longer; the common names and dNSNames
      come out as strings, the iPAddresses as 4 or 16 bytes;
    - a CRL lists its own revoked serials. */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <skalibs/stralloc.h>

#include <mpop/x509.h>

#include "harness.h"

static uint8_t const *in ;
static size_t inlen ;

static void check_span (der_span const *x, char const *what)
{
  if (!x->len) return ;
  FUZZ_ASSERT(x->s >= in && x->s + x->len <= in + inlen, what) ;
}

static void check_name (der_span const *name)
{
  stralloc sa = STRALLOC_ZERO ;
  if (x509_dn_string(&sa, name))
    FUZZ_ASSERT(sa.len <= 4 * name->len + 16, "distinguished name text too long") ;
  else FUZZ_ASSERT(!sa.len, "a failed distinguished name left text behind") ;
  stralloc_free(&sa) ;
}

static void check_strings (stralloc const *sa, char const *what)
{
  FUZZ_ASSERT(!sa->len || !sa->s[sa->len - 1], what) ;
}

static void cert (void)
{
  x509_cert x ;
  stralloc dns = STRALLOC_ZERO, ips = STRALLOC_ZERO, cn = STRALLOC_ZERO ;
  char t[X509_TIME_FMT] ;
  if (!x509_parse(in, inlen, &x)) return ;
  check_span(&x.serial, "serial outside the input") ;
  check_span(&x.issuer, "issuer outside the input") ;
  check_span(&x.subject, "subject outside the input") ;
  check_span(&x.extensions, "extensions outside the input") ;
  check_name(&x.issuer) ;
  check_name(&x.subject) ;
  if (x509_san(&x, &dns, &ips))
  {
    check_strings(&dns, "dNSName not terminated") ;
    for (size_t i = 0 ; i < ips.len ; i += 1 + (unsigned char)ips.s[i])
      FUZZ_ASSERT((ips.s[i] == 4 || ips.s[i] == 16) && i + 1 + (unsigned char)ips.s[i] <= ips.len, "bad iPAddress entry") ;
  }
  if (x509_cn(&x, &cn)) check_strings(&cn, "common name not terminated") ;
  x509_time_fmt(t, x.notbefore) ;
  x509_time_fmt(t, x.notafter) ;
  stralloc_free(&dns) ;
  stralloc_free(&ips) ;
  stralloc_free(&cn) ;
}

static void crl (void)
{
  x509_crl c ;
  der_span rev ;
  if (!x509_crl_parse(in, inlen, &c)) return ;
  check_span(&c.tbs, "tbsCertList outside the input") ;
  check_span(&c.sigalg, "signature algorithm outside the input") ;
  check_span(&c.sig, "signature outside the input") ;
  check_span(&c.issuer, "issuer outside the input") ;
  check_span(&c.revoked, "revoked list outside the input") ;
  check_name(&c.issuer) ;
  rev = c.revoked ;
  while (rev.len)
  {
    der_span entry, sn ;
    unsigned int tag ;
    if (!der_get(&rev, &tag, &entry, 0) || tag != 0x30 || !der_get(&entry, &tag, &sn, 0) || tag != 0x02) break ;
    check_span(&sn, "serial outside the input") ;
    FUZZ_ASSERT(x509_crl_lists(&c, &sn) == 1, "a CRL does not list its own serial") ;
  }
}

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  in = data ;
  inlen = size ;
  cert() ;
  crl() ;
  return 0 ;
}
