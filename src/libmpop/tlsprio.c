/* ISC license. */

#include <string.h>
#include <sysexits.h>

#include <bearssl.h>

#include <skalibs/stralloc.h>
#include <skalibs/types.h>

#include "tls-internal.h"

 /* tls_priorities: a subset of GnuTLS priority strings that maps onto
    BearSSL. "BASE[:+KEYWORD|:-KEYWORD]...": BASE is NORMAL (TLS 1.0 to
    1.2, every suite BearSSL offers) or SECURE (TLS 1.2, ECDHE with AEAD
    ciphers only); keywords enable (+) or disable (- or !) a protocol
    version, a key exchange, a cipher or a MAC. Anything else is an error. */

enum { K_VERS, K_KX, K_CIPHER, K_MAC } ;

static struct keyword_s { char const *name ; unsigned char kind ; uint16_t bits ; } const keywords[] =
{
  { "VERS-TLS1.0", K_VERS, 0x1 },
  { "VERS-TLS1.1", K_VERS, 0x2 },
  { "VERS-TLS1.2", K_VERS, 0x4 },
  { "VERS-ALL", K_VERS, 0x7 },
  { "VERS-TLS-ALL", K_VERS, 0x7 },
  { "ECDHE-ECDSA", K_KX, TLS_KX_ECDHE_ECDSA },
  { "ECDHE-RSA", K_KX, TLS_KX_ECDHE_RSA },
  { "ECDH-ECDSA", K_KX, TLS_KX_ECDH_ECDSA },
  { "ECDH-RSA", K_KX, TLS_KX_ECDH_RSA },
  { "RSA", K_KX, TLS_KX_RSA },
  { "KX-ALL", K_KX, 0x1f },
  { "AES-128-GCM", K_CIPHER, TLS_C_AES128GCM },
  { "AES-256-GCM", K_CIPHER, TLS_C_AES256GCM },
  { "CHACHA20-POLY1305", K_CIPHER, TLS_C_CHACHA20 },
  { "AES-128-CCM", K_CIPHER, TLS_C_AES128CCM },
  { "AES-256-CCM", K_CIPHER, TLS_C_AES256CCM },
  { "AES-128-CCM-8", K_CIPHER, TLS_C_AES128CCM8 },
  { "AES-256-CCM-8", K_CIPHER, TLS_C_AES256CCM8 },
  { "AES-128-CBC", K_CIPHER, TLS_C_AES128CBC },
  { "AES-256-CBC", K_CIPHER, TLS_C_AES256CBC },
  { "3DES-CBC", K_CIPHER, TLS_C_3DES },
  { "CIPHER-ALL", K_CIPHER, 0x3ff },
  { "AEAD", K_MAC, TLS_M_AEAD },
  { "SHA1", K_MAC, TLS_M_SHA1 },
  { "SHA256", K_MAC, TLS_M_SHA256 },
  { "SHA384", K_MAC, TLS_M_SHA384 },
  { "MAC-ALL", K_MAC, 0x0f },
  { 0, 0, 0 }
} ;

static int bad (stralloc *err, char const *what, char const *s, size_t len, size_t pos)
{
  char fmt[SIZE_FMT] ;
  fmt[size_fmt(fmt, pos + 1)] = 0 ;
  err->len = 0 ;
  if (!(stralloc_cats(err, "invalid tls_priorities: ") && stralloc_cats(err, what) && stralloc_cats(err, " ('")
     && stralloc_catb(err, s, len) && stralloc_cats(err, "' at position ") && stralloc_cats(err, fmt) && stralloc_cats(err, ")") && stralloc_0(err)))
    return EX_OSERR ;
  err->len-- ;
  return EX_CONFIG ;
}

static int say (stralloc *err, char const *what)
{
  err->len = 0 ;
  if (!(stralloc_cats(err, "invalid tls_priorities: ") && stralloc_cats(err, what) && stralloc_0(err))) return EX_OSERR ;
  err->len-- ;
  return EX_CONFIG ;
}

static struct keyword_s const *find (char const *s, size_t len)
{
  for (unsigned int i = 0 ; keywords[i].name ; i++)
    if (strlen(keywords[i].name) == len && !strncmp(keywords[i].name, s, len)) return &keywords[i] ;
  return 0 ;
}

int tls_priorities (char const *s, unsigned int *vmin, unsigned int *vmax, uint16_t *suites, size_t *n, stralloc *err)
{
  uint16_t mask[4] = { 0x7, 0x1f, 0x3ff, 0x0f } ;
  size_t pos = 0 ;
  int first = 1 ;
  for (;;)
  {
    size_t len = strcspn(s + pos, ":") ;
    char const *w = s + pos ;
    char sign = *w ;
    if (!len) return bad(err, "empty keyword", w, 0, pos) ;
    if (first && sign != '+' && sign != '-' && sign != '!')
    {
      if (len == 6 && !strncmp(w, "NORMAL", 6)) ;
      else if (len == 6 && !strncmp(w, "SECURE", 6))
      {
        mask[K_VERS] = 0x4 ; mask[K_KX] = TLS_KX_ECDHE_ECDSA | TLS_KX_ECDHE_RSA ; mask[K_MAC] = TLS_M_AEAD ;
      }
      else return bad(err, "unknown base (use NORMAL or SECURE)", w, len, pos) ;
    }
    else
    {
      struct keyword_s const *k ;
      if (sign != '+' && sign != '-' && sign != '!') return bad(err, "keyword without + or -", w, len, pos) ;
      k = find(w + 1, len - 1) ;
      if (!k)
      {
        if (len > 4 && !strncmp(w + 1, "DHE-", 4)) return bad(err, "BearSSL has no DHE key exchange", w, len, pos) ;
        if (len > 12 && !strncmp(w + 1, "VERS-TLS1.3", 11)) return bad(err, "BearSSL has no TLS 1.3", w, len, pos) ;
        return bad(err, "unsupported keyword", w, len, pos) ;
      }
      if (sign == '+') mask[k->kind] |= k->bits ; else mask[k->kind] &= ~k->bits ;
    }
    first = 0 ;
    pos += len ;
    if (!s[pos]) break ;
    pos++ ;
  }
  {
    unsigned int v = mask[K_VERS], lo, hi ;
    if (!v) return say(err, "no protocol version left") ;
    for (lo = 0 ; !(v & (1u << lo)) ; lo++) ;
    for (hi = 2 ; !(v & (1u << hi)) ; hi--) ;
    for (unsigned int i = lo ; i <= hi ; i++)
      if (!(v & (1u << i))) return say(err, "the protocol versions must form a range") ;
    *vmin = BR_TLS10 + lo ;
    *vmax = BR_TLS10 + hi ;
  }
  *n = 0 ;
  for (unsigned int i = 0 ; i < TLS_NSUITES ; i++)
    if (tls_suites[i].kx & mask[K_KX] && tls_suites[i].cipher & mask[K_CIPHER] && tls_suites[i].mac & mask[K_MAC])
      suites[(*n)++] = tls_suites[i].id ;
  if (!*n) return say(err, "no cipher suite left") ;
  return 0 ;
}
