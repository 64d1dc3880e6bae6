/* ISC license. */

#include <string.h>
#include <time.h>

#include <skalibs/stralloc.h>

#include <mpop/x509.h>

#define T_INTEGER 0x02
#define T_BITSTRING 0x03
#define T_OCTETSTRING 0x04
#define T_OID 0x06
#define T_UTF8 0x0c
#define T_PRINTABLE 0x13
#define T_T61 0x14
#define T_IA5 0x16
#define T_UTCTIME 0x17
#define T_GENTIME 0x18
#define T_UNIVERSAL 0x1c
#define T_BMP 0x1e
#define T_SEQ 0x30
#define T_SET 0x31

int der_get (der_span *in, unsigned int *tag, der_span *content, der_span *whole)
{
  unsigned char const *s = in->s ;
  size_t avail = in->len, len, hdr = 2 ;
  if (avail < 2 || (s[0] & 0x1f) == 0x1f) return 0 ;
  len = s[1] ;
  if (len & 0x80)
  {
    unsigned int n = len & 0x7f ;
    if (!n || n > 4 || avail < 2 + n) return 0 ;
    len = 0 ;
    for (unsigned int i = 0 ; i < n ; i++) len = (len << 8) | s[2 + i] ;
    hdr += n ;
  }
  if (len > avail - hdr) return 0 ;
  *tag = s[0] ;
  content->s = s + hdr ; content->len = len ;
  if (whole) { whole->s = s ; whole->len = hdr + len ; }
  in->s += hdr + len ; in->len -= hdr + len ;
  return 1 ;
}

static int expect (der_span *in, unsigned int want, der_span *content, der_span *whole)
{
  unsigned int tag ;
  return der_get(in, &tag, content, whole) && tag == want ;
}

static int64_t days_from_civil (int64_t y, unsigned int m, unsigned int d)
{
  y -= m <= 2 ;
  int64_t era = (y >= 0 ? y : y - 399) / 400 ;
  unsigned int yoe = (unsigned int)(y - era * 400) ;
  unsigned int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1 ;
  unsigned int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy ;
  return era * 146097 + (int64_t)doe - 719468 ;
}

static int digits (unsigned char const *s, unsigned int n, unsigned int *v)
{
  *v = 0 ;
  for (unsigned int i = 0 ; i < n ; i++)
  {
    if (s[i] < '0' || s[i] > '9') return 0 ;
    *v = *v * 10 + (s[i] - '0') ;
  }
  return 1 ;
}

int der_time (unsigned int tag, der_span const *c, int64_t *t)
{
  unsigned char const *s = c->s ;
  unsigned int y, mo, d, h, mi, se ;
  if (tag == T_UTCTIME)
  {
    if (c->len != 13 || s[12] != 'Z' || !digits(s, 2, &y)) return 0 ;
    y += y < 50 ? 2000 : 1900 ;
    s += 2 ;
  }
  else if (tag == T_GENTIME)
  {
    if (c->len != 15 || s[14] != 'Z' || !digits(s, 4, &y)) return 0 ;
    s += 4 ;
  }
  else return 0 ;
  if (!digits(s, 2, &mo) || !digits(s + 2, 2, &d) || !digits(s + 4, 2, &h)
   || !digits(s + 6, 2, &mi) || !digits(s + 8, 2, &se)) return 0 ;
  if (!mo || mo > 12 || !d || d > 31 || h > 23 || mi > 59 || se > 60) return 0 ;
  *t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se ;
  return 1 ;
}

static int get_time (der_span *in, int64_t *t)
{
  unsigned int tag ;
  der_span c ;
  return der_get(in, &tag, &c, 0) && der_time(tag, &c, t) ;
}

int x509_parse (unsigned char const *der, size_t len, x509_cert *x)
{
  der_span in = { .s = der, .len = len }, cert, tbs, c, validity ;
  unsigned int tag ;
  if (!expect(&in, T_SEQ, &cert, 0) || !expect(&cert, T_SEQ, &tbs, 0)) return 0 ;
  if (tbs.len && tbs.s[0] == 0xa0 && !der_get(&tbs, &tag, &c, 0)) return 0 ;
  if (!expect(&tbs, T_INTEGER, &x->serial, 0)
   || !expect(&tbs, T_SEQ, &c, 0)
   || !expect(&tbs, T_SEQ, &c, &x->issuer)
   || !expect(&tbs, T_SEQ, &validity, 0)
   || !get_time(&validity, &x->notbefore) || !get_time(&validity, &x->notafter)
   || !expect(&tbs, T_SEQ, &c, &x->subject)
   || !expect(&tbs, T_SEQ, &c, 0)) return 0 ;
  x->extensions.s = 0 ; x->extensions.len = 0 ;
  while (tbs.len)
  {
    if (!der_get(&tbs, &tag, &c, 0)) return 0 ;
    if (tag == 0xa3 && !expect(&c, T_SEQ, &x->extensions, 0)) return 0 ;
  }
  return 1 ;
}

 /* Names */

static struct oidname_s { unsigned char len ; unsigned char oid[10] ; char const *name ; } const oidnames[] =
{
  { 3, { 0x55, 0x04, 0x03 }, "CN" },
  { 3, { 0x55, 0x04, 0x06 }, "C" },
  { 3, { 0x55, 0x04, 0x07 }, "L" },
  { 3, { 0x55, 0x04, 0x08 }, "ST" },
  { 3, { 0x55, 0x04, 0x09 }, "STREET" },
  { 3, { 0x55, 0x04, 0x0a }, "O" },
  { 3, { 0x55, 0x04, 0x0b }, "OU" },
  { 3, { 0x55, 0x04, 0x05 }, "serialNumber" },
  { 3, { 0x55, 0x04, 0x04 }, "SN" },
  { 3, { 0x55, 0x04, 0x2a }, "GN" },
  { 3, { 0x55, 0x04, 0x0c }, "title" },
  { 9, { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01 }, "EMAIL" },
  { 10, { 0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19 }, "DC" },
  { 10, { 0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x01 }, "UID" },
  { 0, { 0 }, 0 }
} ;

static int oid_dotted (stralloc *sa, der_span const *oid)
{
  unsigned long long v = 0 ;
  int first = 1 ;
  for (size_t i = 0 ; i < oid->len ; i++)
  {
    v = (v << 7) | (oid->s[i] & 0x7f) ;
    if (oid->s[i] & 0x80) { if (v >> 56) return 0 ; continue ; }
    char buf[48] ;
    size_t n = 0 ;
    unsigned long long parts[2] = { v, 0 } ;
    unsigned int np = 1 ;
    if (first)
    {
      parts[0] = v < 80 ? v / 40 : 2 ;
      parts[1] = v - parts[0] * 40 ;
      np = 2 ;
      first = 0 ;
    }
    for (unsigned int j = 0 ; j < np ; j++)
    {
      char tmp[24] ;
      size_t k = 0 ;
      unsigned long long x = parts[j] ;
      do tmp[k++] = '0' + x % 10 ; while (x /= 10) ;
      if (sa->len || j) buf[n++] = '.' ;
      while (k) buf[n++] = tmp[--k] ;
    }
    if (!stralloc_catb(sa, buf, n)) return 0 ;
    v = 0 ;
  }
  return 1 ;
}

static int cat_type (stralloc *sa, der_span const *oid)
{
  for (unsigned int i = 0 ; oidnames[i].name ; i++)
    if (oidnames[i].len == oid->len && !memcmp(oidnames[i].oid, oid->s, oid->len))
      return stralloc_cats(sa, oidnames[i].name) ;
  {
    stralloc tmp = STRALLOC_ZERO ;
    int ok = oid_dotted(&tmp, oid) && stralloc_catb(sa, tmp.s, tmp.len) ;
    stralloc_free(&tmp) ;
    return ok ;
  }
}

static int cat_escaped (stralloc *sa, unsigned char const *s, size_t len)
{
  for (size_t i = 0 ; i < len ; i++)
  {
    unsigned char c = s[i] ;
    int esc = c == ',' || c == '+' || c == '"' || c == '\\' || c == '<' || c == '>' || c == ';'
      || (!i && (c == ' ' || c == '#')) || (i == len - 1 && c == ' ') ;
    if (esc && !stralloc_catb(sa, "\\", 1)) return 0 ;
    if (!stralloc_catb(sa, (char const *)&c, 1)) return 0 ;
  }
  return 1 ;
}

static int cat_bmp (stralloc *sa, der_span const *v)
{
  for (size_t i = 0 ; i + 1 < v->len ; i += 2)
  {
    unsigned int u = (v->s[i] << 8) | v->s[i + 1] ;
    unsigned char b[3] ;
    size_t n ;
    if (u < 0x80) { b[0] = u ; n = 1 ; }
    else if (u < 0x800) { b[0] = 0xc0 | u >> 6 ; b[1] = 0x80 | (u & 0x3f) ; n = 2 ; }
    else { b[0] = 0xe0 | u >> 12 ; b[1] = 0x80 | ((u >> 6) & 0x3f) ; b[2] = 0x80 | (u & 0x3f) ; n = 3 ; }
    if (!cat_escaped(sa, b, n)) return 0 ;
  }
  return 1 ;
}

static int cat_hex (stralloc *sa, der_span const *v)
{
  static char const hex[] = "0123456789abcdef" ;
  for (size_t i = 0 ; i < v->len ; i++)
  {
    char b[2] = { hex[v->s[i] >> 4], hex[v->s[i] & 15] } ;
    if (!stralloc_catb(sa, b, 2)) return 0 ;
  }
  return 1 ;
}

static int cat_value (stralloc *sa, unsigned int tag, der_span const *v, der_span const *whole)
{
  switch (tag)
  {
    case T_UTF8 : case T_PRINTABLE : case T_T61 : case T_IA5 : return cat_escaped(sa, v->s, v->len) ;
    case T_BMP : return cat_bmp(sa, v) ;
    default : return stralloc_catb(sa, "#", 1) && cat_hex(sa, whole) ;
  }
}

static int cat_rdn (stralloc *sa, der_span rdn)
{
  int first = 1 ;
  while (rdn.len)
  {
    der_span atv, oid, v, whole ;
    unsigned int tag ;
    if (!expect(&rdn, T_SEQ, &atv, 0) || !expect(&atv, T_OID, &oid, 0) || !der_get(&atv, &tag, &v, &whole)) return 0 ;
    if (!first && !stralloc_catb(sa, "+", 1)) return 0 ;
    if (!cat_type(sa, &oid) || !stralloc_catb(sa, "=", 1) || !cat_value(sa, tag, &v, &whole)) return 0 ;
    first = 0 ;
  }
  return 1 ;
}

int x509_dn_string (stralloc *sa, der_span const *name)
{
  der_span in = *name, seq ;
  size_t base = sa->len ;
  if (!expect(&in, T_SEQ, &seq, 0)) return 0 ;
  while (seq.len)
  {
    der_span rdn ;
    if (!expect(&seq, T_SET, &rdn, 0)) goto err ;
    if (sa->len > base && !stralloc_catb(sa, ",", 1)) goto err ;
    if (!cat_rdn(sa, rdn)) goto err ;
  }
  return 1 ;
 err:
  sa->len = base ;
  return 0 ;
}

int x509_cn (x509_cert const *x, stralloc *sa)
{
  static unsigned char const cn[3] = { 0x55, 0x04, 0x03 } ;
  der_span in = x->subject, seq ;
  if (!expect(&in, T_SEQ, &seq, 0)) return 0 ;
  while (seq.len)
  {
    der_span rdn ;
    if (!expect(&seq, T_SET, &rdn, 0)) return 0 ;
    while (rdn.len)
    {
      der_span atv, oid, v ;
      unsigned int tag ;
      if (!expect(&rdn, T_SEQ, &atv, 0) || !expect(&atv, T_OID, &oid, 0) || !der_get(&atv, &tag, &v, 0)) return 0 ;
      if (oid.len == 3 && !memcmp(oid.s, cn, 3))
        if (!stralloc_catb(sa, (char const *)v.s, v.len) || !stralloc_0(sa)) return 0 ;
    }
  }
  return 1 ;
}

int x509_san (x509_cert const *x, stralloc *dns, stralloc *ips)
{
  static unsigned char const san[3] = { 0x55, 0x1d, 0x11 } ;
  der_span exts = x->extensions ;
  while (exts.len)
  {
    der_span ext, oid, v, names ;
    unsigned int tag ;
    if (!expect(&exts, T_SEQ, &ext, 0) || !expect(&ext, T_OID, &oid, 0)) return 0 ;
    if (oid.len != 3 || memcmp(oid.s, san, 3)) continue ;
    if (!der_get(&ext, &tag, &v, 0)) return 0 ;
    if (tag == 0x01 && !der_get(&ext, &tag, &v, 0)) return 0 ;
    if (tag != T_OCTETSTRING || !expect(&v, T_SEQ, &names, 0)) return 0 ;
    while (names.len)
    {
      der_span gn ;
      if (!der_get(&names, &tag, &gn, 0)) return 0 ;
      if (tag == 0x82)
      {
        if (!stralloc_catb(dns, (char const *)gn.s, gn.len) || !stralloc_0(dns)) return 0 ;
      }
      else if (tag == 0x87 && (gn.len == 4 || gn.len == 16))
      {
        char l = gn.len ;
        if (!stralloc_catb(ips, &l, 1) || !stralloc_catb(ips, (char const *)gn.s, gn.len)) return 0 ;
      }
    }
  }
  return 1 ;
}

size_t x509_time_fmt (char *s, int64_t t)
{
  time_t tt = (time_t)t ;
  struct tm tm ;
  if (!localtime_r(&tt, &tm)) return 0 ;
  return strftime(s, X509_TIME_FMT, "%c", &tm) ;
}

int x509_fingerprint_fmt (stralloc *sa, unsigned char const *h, size_t len)
{
  static char const hex[] = "0123456789ABCDEF" ;
  for (size_t i = 0 ; i < len ; i++)
  {
    char b[3] = { ':', hex[h[i] >> 4], hex[h[i] & 15] } ;
    if (!stralloc_catb(sa, i ? b : b + 1, i ? 3 : 2)) return 0 ;
  }
  return 1 ;
}

 /* CRLs */

int x509_crl_parse (unsigned char const *der, size_t len, x509_crl *crl)
{
  der_span in = { .s = der, .len = len }, list, tbs, c, alg, sig ;
  unsigned int tag ;
  if (!expect(&in, T_SEQ, &list, 0) || in.len) return 0 ;
  if (!expect(&list, T_SEQ, &tbs, &crl->tbs)) return 0 ;
  if (!expect(&list, T_SEQ, &alg, 0) || !expect(&alg, T_OID, &crl->sigalg, 0)) return 0 ;
  if (!expect(&list, T_BITSTRING, &sig, 0) || !sig.len || sig.s[0]) return 0 ;
  crl->sig.s = sig.s + 1 ; crl->sig.len = sig.len - 1 ;
  if (tbs.len && tbs.s[0] == T_INTEGER && !der_get(&tbs, &tag, &c, 0)) return 0 ;
  if (!expect(&tbs, T_SEQ, &c, 0) || !expect(&tbs, T_SEQ, &c, &crl->issuer)) return 0 ;
  if (!get_time(&tbs, &crl->thisupdate)) return 0 ;
  crl->nextupdate = -1 ;
  crl->revoked.s = 0 ; crl->revoked.len = 0 ;
  if (tbs.len && (tbs.s[0] == T_UTCTIME || tbs.s[0] == T_GENTIME) && !get_time(&tbs, &crl->nextupdate)) return 0 ;
  if (tbs.len && tbs.s[0] == T_SEQ && !expect(&tbs, T_SEQ, &crl->revoked, 0)) return 0 ;
  return 1 ;
}

static der_span strip_zeros (der_span x)
{
  while (x.len > 1 && !x.s[0]) { x.s++ ; x.len-- ; }
  return x ;
}

int x509_crl_lists (x509_crl const *crl, der_span const *serial)
{
  der_span rev = crl->revoked, want = strip_zeros(*serial) ;
  while (rev.len)
  {
    der_span entry, sn ;
    if (!expect(&rev, T_SEQ, &entry, 0) || !expect(&entry, T_INTEGER, &sn, 0)) return -1 ;
    sn = strip_zeros(sn) ;
    if (sn.len == want.len && !memcmp(sn.s, want.s, sn.len)) return 1 ;
  }
  return 0 ;
}
