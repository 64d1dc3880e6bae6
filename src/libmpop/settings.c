/* ISC license. */

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <skalibs/bytestr.h>
#include <skalibs/fmtscan.h>
#include <skalibs/types.h>
#include <skalibs/uint64.h>
#include <skalibs/stralloc.h>

#include <mpop/settings.h>

#define CONN SF_SERVERINFO

setting const settings_table[S_N] =
{
  [S_HOST] = { "host", "host", ST_TEXT, CONN, 0 },
  [S_PORT] = { "port", "port", ST_PORT, CONN, 0 },
  [S_SOURCE_IP] = { "source_ip", "source ip", ST_TEXT, CONN | SF_EMPTY_UNSETS, 0 },
  [S_PROXY_HOST] = { "proxy_host", "proxy host", ST_TEXT, CONN | SF_EMPTY_UNSETS, 0 },
  [S_PROXY_PORT] = { "proxy_port", "proxy port", ST_PORT, CONN | SF_EMPTY_UNSETS, 0 },
  [S_SOCKET] = { "socket", "socket", ST_TEXT, CONN | SF_EMPTY_UNSETS, 0 },
  [S_TIMEOUT] = { "timeout", "timeout", ST_TIMEOUT, CONN, "180" },
  [S_PIPELINING] = { "pipelining", "pipelining", ST_PIPELINING, CONN, "auto" },
  [S_RECEIVED_HEADER] = { "received_header", "received_header", ST_ONOFF, CONN | SF_EMPTY_IS_ON | SF_LONG_OPTARG, "on" },
  [S_AUTH] = { "auth", "auth", ST_AUTH, CONN | SF_LONG_OPTARG, "on" },
  [S_USER] = { "user", "user", ST_TEXT, CONN | SF_EMPTY_UNSETS, 0 },
  [S_PASSWORD] = { "password", "password", ST_TEXT, CONN | SF_EMPTY_UNSETS | SF_SECRET | SF_NO_LONGOPT, 0 },
  [S_PASSWORDEVAL] = { "passwordeval", "passwordeval", ST_TEXT, CONN | SF_EMPTY_UNSETS, 0 },
  [S_NTLMDOMAIN] = { "ntlmdomain", "ntlmdomain", ST_TEXT, CONN | SF_EMPTY_UNSETS | SF_NO_LONGOPT, 0 },
  [S_TLS] = { "tls", "tls", ST_ONOFF, CONN | SF_EMPTY_IS_ON | SF_LONG_OPTARG, "off" },
  [S_TLS_STARTTLS] = { "tls_starttls", "tls_starttls", ST_ONOFF, CONN | SF_EMPTY_IS_ON | SF_LONG_OPTARG, "on" },
  [S_TLS_TRUST_FILE] = { "tls_trust_file", "tls_trust_file", ST_TEXT, CONN | SF_EMPTY_UNSETS | SF_TILDE, "system" },
  [S_TLS_CRL_FILE] = { "tls_crl_file", "tls_crl_file", ST_TEXT, CONN | SF_EMPTY_UNSETS | SF_TILDE, 0 },
  [S_TLS_FINGERPRINT] = { "tls_fingerprint", "tls_fingerprint", ST_FINGERPRINT, CONN | SF_EMPTY_UNSETS, 0 },
  [S_TLS_KEY_FILE] = { "tls_key_file", "tls_key_file", ST_TEXT, CONN | SF_EMPTY_UNSETS | SF_TILDE, 0 },
  [S_TLS_CERT_FILE] = { "tls_cert_file", "tls_cert_file", ST_TEXT, CONN | SF_EMPTY_UNSETS | SF_TILDE, 0 },
  [S_TLS_CERTCHECK] = { "tls_certcheck", "tls_certcheck", ST_ONOFF, CONN | SF_EMPTY_IS_ON | SF_LONG_OPTARG, "on" },
  [S_TLS_MIN_DH_PRIME_BITS] = { "tls_min_dh_prime_bits", "tls_min_dh_prime_bits", ST_POSINT, CONN | SF_EMPTY_UNSETS, 0 },
  [S_TLS_PRIORITIES] = { "tls_priorities", "tls_priorities", ST_TEXT, CONN | SF_EMPTY_UNSETS, 0 },
  [S_TLS_HOST_OVERRIDE] = { "tls_host_override", "tls_host_override", ST_TEXT, CONN | SF_EMPTY_UNSETS, 0 },
  [S_DELIVERY] = { "delivery", "delivery", ST_DELIVERY, 0, 0 },
  [S_UIDLS_FILE] = { "uidls_file", "uidls file", ST_TEXT, SF_TILDE, 0 },
  [S_ONLY_NEW] = { "only_new", "only_new", ST_ONOFF, SF_EMPTY_IS_ON | SF_LONG_OPTARG, "on" },
  [S_KEEP] = { "keep", "keep", ST_KEEP, SF_EMPTY_IS_ON | SF_LONG_OPTARG, "off" },
  [S_KILLSIZE] = { "killsize", "killsize", ST_SIZE, 0, "off" },
  [S_SKIPSIZE] = { "skipsize", "skipsize", ST_SIZE, 0, "off" },
  [S_FILTER] = { "filter", "filter", ST_TEXT, SF_EMPTY_UNSETS, 0 },
  [S_TLS_FORCE_SSLV3] = { "tls_force_sslv3", 0, ST_IGNORED, SF_LONG_OPTARG, 0 },
} ;

char const *const settings_auth_methods[] =
{
  "scram-sha-256-plus", "scram-sha-1-plus", "scram-sha-256", "scram-sha-1",
  "plain", "apop", "user", "gssapi", "external", "oauthbearer", "cram-md5",
  "digest-md5", "login", "ntlm", "xoauth2", 0
} ;

int settings_find (char const *name, size_t len)
{
  for (unsigned int i = 0 ; i < S_N ; i++)
    if (strlen(settings_table[i].name) == len && !memcmp(settings_table[i].name, name, len))
      return i ;
  return -1 ;
}

size_t settings_longopt (char *buf, unsigned int i)
{
  size_t n = strlen(settings_table[i].name) ;
  for (size_t j = 0 ; j < n ; j++)
    buf[j] = settings_table[i].name[j] == '_' ? '-' : settings_table[i].name[j] ;
  buf[n] = 0 ;
  return n ;
}

int settings_find_longopt (char const *opt, size_t len)
{
  char buf[SETTINGS_ENVNAME_MAX] ;
  for (unsigned int i = 0 ; i < S_N ; i++)
  {
    if (settings_table[i].flags & SF_NO_LONGOPT) continue ;
    if (settings_longopt(buf, i) == len && !memcmp(buf, opt, len)) return i ;
  }
  return -1 ;
}

size_t settings_envname (char *buf, unsigned int i)
{
  char const *s = settings_table[i].name ;
  size_t n = 5 ;
  memcpy(buf, "MPOP_", 5) ;
  for (; *s ; s++) buf[n++] = *s >= 'a' && *s <= 'z' ? *s - 32 : *s ;
  buf[n] = 0 ;
  return n ;
}

 /* Numbers as strtol with base 0 reads them: 0x.. hex, 0.. octal */

static int scan_ll (char const *s, long long *n, char const **end)
{
  char *e ;
  if (!*s) return 0 ;
  errno = 0 ;
  *n = strtoll(s, &e, 0) ;
  if (errno || e == s) return 0 ;
  *end = e ;
  return 1 ;
}

static int scan_ll0 (char const *s, long long *n)
{
  char const *e ;
  return scan_ll(s, n, &e) && !*e ;
}

static int put_ull (stralloc *sa, unsigned long long n)
{
  char fmt[UINT64_FMT] ;
  return stralloc_catb(sa, fmt, uint64_fmt(fmt, n)) && stralloc_0(sa) ;
}

static int put_str (stralloc *sa, char const *s)
{
  return stralloc_cats(sa, s) && stralloc_0(sa) ;
}

static int put_text (stralloc *sa, char const *s, char const *home, int tilde)
{
  if (tilde && s[0] == '~' && !stralloc_cats(sa, home)) return 0 ;
  return put_str(sa, tilde && s[0] == '~' ? s + 1 : s) ;
}

static int norm_size (char const *arg, stralloc *sa)
{
  long long n ;
  char const *e ;
  unsigned long long mult = 1 ;
  if (!strcmp(arg, "off")) return put_str(sa, "off") ? SE_OK : SE_NOMEM ;
  if (!scan_ll(arg, &n, &e) || n < 0) return SE_BADSIZE ;
  if (*e == 'k') { mult = 1024 ; e++ ; }
  else if (*e == 'm') { mult = 1048576 ; e++ ; }
  if (*e) return SE_BADSIZE ;
  if ((unsigned long long)n > LLONG_MAX / mult) return SE_BADSIZE ;
  return put_ull(sa, (unsigned long long)n * mult) ? SE_OK : SE_NOMEM ;
}

 /* keep durations: one or more <unsigned><d|h|m|s>, as strtoul reads them */
static int scan_duration (char const *s, unsigned long long *total)
{
  unsigned long long sum = 0 ;
  if (!*s) return 0 ;
  while (*s)
  {
    char *e ;
    unsigned long long n, mult ;
    errno = 0 ;
    n = strtoull(s, &e, 10) ;
    if (errno || e == s) return 0 ;
    {
      char const *t = s ;
      while (*t == ' ' || *t == '\t' || *t == '\n' || *t == '\v' || *t == '\f' || *t == '\r') t++ ;
      if (*t == '-') return 0 ;
    }
    switch (*e)
    {
      case 'd' : mult = 86400 ; break ;
      case 'h' : mult = 3600 ; break ;
      case 'm' : mult = 60 ; break ;
      case 's' : mult = 1 ; break ;
      default : return 0 ;
    }
    if (n > LLONG_MAX / mult || sum > LLONG_MAX - n * mult) return 0 ;
    sum += n * mult ;
    s = e + 1 ;
  }
  *total = sum ;
  return 1 ;
}

static int norm_keep (char const *arg, int how, stralloc *sa)
{
  unsigned long long secs ;
  if (!strcmp(arg, "on") || !strcmp(arg, "off")) return put_str(sa, arg) ? SE_OK : SE_NOMEM ;
  if (how == NORM_ENV ? !settings_keep(arg, &secs) : !scan_duration(arg, &secs)) return SE_INVALID ;
  if (!secs) return put_str(sa, "off") ? SE_OK : SE_NOMEM ;
  return put_ull(sa, secs) ? SE_OK : SE_NOMEM ;
}

static int hexval (char c)
{
  if (c >= '0' && c <= '9') return c - '0' ;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10 ;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10 ;
  return -1 ;
}

int settings_fingerprint (char const *v, unsigned char *out, size_t *len)
{
  size_t n = strlen(v), k ;
  if (n != 95 && n != 59 && n != 47) return 0 ;
  k = (n + 1) / 3 ;
  for (size_t i = 0 ; i < k ; i++)
  {
    int hi = hexval(v[3*i]), lo = hexval(v[3*i+1]) ;
    if (hi < 0 || lo < 0) return 0 ;
    if (i + 1 < k && v[3*i+2] != ':' && v[3*i+2] != ' ') return 0 ;
    out[i] = (unsigned char)(hi << 4 | lo) ;
  }
  *len = k ;
  return 1 ;
}

static int norm_fingerprint (char const *arg, stralloc *sa)
{
  static char const hex[] = "0123456789ABCDEF" ;
  unsigned char fp[32] ;
  size_t len ;
  if (!settings_fingerprint(arg, fp, &len)) return SE_INVALID ;
  for (size_t i = 0 ; i < len ; i++)
  {
    char s[3] = { hex[fp[i] >> 4], hex[fp[i] & 15], ':' } ;
    if (!stralloc_catb(sa, s, i + 1 < len ? 3 : 2)) return SE_NOMEM ;
  }
  return stralloc_0(sa) ? SE_OK : SE_NOMEM ;
}

static size_t trim (char const *s, size_t len, size_t *start)
{
  size_t a = 0 ;
  while (a < len && (s[a] == ' ' || s[a] == '\t')) a++ ;
  while (len > a && (s[len-1] == ' ' || s[len-1] == '\t')) len-- ;
  if (len - a >= 2 && s[a] == '"' && s[len-1] == '"') { a++ ; len-- ; }
  *start = a ;
  return len - a ;
}

 /* "METHOD ARG" (rc file) or "METHOD,ARG" (command line: ARG untouched) */
static int norm_delivery (char const *arg, char const *home, int how, stralloc *sa)
{
  static char const *const methods[] = { "mda", "maildir", "mbox", "exchange", 0 } ;
  size_t m = 0, start, len ;
  unsigned int i = 0 ;
  while (arg[m] && arg[m] != ' ' && arg[m] != '\t' && arg[m] != ',') m++ ;
  for (; methods[i] ; i++)
    if (strlen(methods[i]) == m && !memcmp(methods[i], arg, m)) break ;
  if (!methods[i]) return SE_INVALID ;
  if (how == NORM_CLI ? arg[m] != ',' : arg[m] != ' ' && arg[m] != '\t') return SE_INVALID ;
  if (how != NORM_RC) { start = m + 1 ; len = strlen(arg + start) ; }
  else
  {
    size_t s0 ;
    len = trim(arg + m, strlen(arg + m), &s0) ;
    start = m + s0 ;
  }
  if (!len) return SE_INVALID ;
  if (!stralloc_catb(sa, arg, m) || !stralloc_catb(sa, " ", 1)) return SE_NOMEM ;
  if (i && how != NORM_ENV && arg[start] == '~') { if (!stralloc_cats(sa, home)) return SE_NOMEM ; start++ ; len-- ; }
  return stralloc_catb(sa, arg + start, len) && stralloc_0(sa) ? SE_OK : SE_NOMEM ;
}

int settings_normalize (unsigned int i, char const *arg, char const *home, int how, stralloc *sa)
{
  setting const *s = settings_table + i ;
  long long n ;
  if (!*arg)
  {
    if (s->type == ST_IGNORED) return SE_UNSET ;
    if (s->flags & SF_EMPTY_IS_ON) arg = "on" ;
    else if (s->type == ST_PIPELINING || s->type == ST_AUTH) arg = "on" ;
    else if (s->flags & SF_EMPTY_UNSETS) return SE_UNSET ;
    else return SE_NEEDSARG ;
  }
  switch (s->type)
  {
    case ST_TEXT :
      return put_text(sa, arg, home, how != NORM_ENV && s->flags & SF_TILDE) ? SE_OK : SE_NOMEM ;
    case ST_ONOFF :
      if (strcmp(arg, "on") && strcmp(arg, "off")) return SE_INVALID ;
      return put_str(sa, arg) ? SE_OK : SE_NOMEM ;
    case ST_PORT :
      if (!scan_ll0(arg, &n) || n < 1 || n > 65535) return SE_INVALID ;
      return put_ull(sa, n) ? SE_OK : SE_NOMEM ;
    case ST_TIMEOUT :
      if (!strcmp(arg, "off")) return put_str(sa, "off") ? SE_OK : SE_NOMEM ;
      if (!scan_ll0(arg, &n) || n < 1 || n > INT_MAX) return SE_INVALID ;
      return put_ull(sa, n) ? SE_OK : SE_NOMEM ;
    case ST_PIPELINING :
      if (strcmp(arg, "auto") && strcmp(arg, "on") && strcmp(arg, "off")) return SE_INVALID ;
      return put_str(sa, arg) ? SE_OK : SE_NOMEM ;
    case ST_AUTH :
      if (strcmp(arg, "on"))
      {
        unsigned int j = 0 ;
        for (; settings_auth_methods[j] ; j++) if (!strcmp(arg, settings_auth_methods[j])) break ;
        if (!settings_auth_methods[j]) return SE_INVALID ;
      }
      return put_str(sa, arg) ? SE_OK : SE_NOMEM ;
    case ST_FINGERPRINT : return norm_fingerprint(arg, sa) ;
    case ST_DELIVERY : return norm_delivery(arg, home, how, sa) ;
    case ST_KEEP : return norm_keep(arg, how, sa) ;
    case ST_SIZE : return norm_size(arg, sa) ;
    case ST_POSINT :
      if (!scan_ll0(arg, &n) || n < 1 || n > INT_MAX) return SE_INVALID ;
      return put_ull(sa, n) ? SE_OK : SE_NOMEM ;
    case ST_IGNORED : return SE_UNSET ;
  }
  return SE_INVALID ;
}


int settings_onoff (char const *v)
{
  return v && !strcmp(v, "on") ;
}

int settings_number (char const *v, unsigned long long *n)
{
  if (!v || !strcmp(v, "off")) { *n = 0 ; return 1 ; }
  return uint64_scan(v, (uint64_t *)n) == strlen(v) ;
}

int settings_keep (char const *v, unsigned long long *secs)
{
  if (!v || !strcmp(v, "off")) { *secs = 0 ; return 1 ; }
  if (!strcmp(v, "on")) { *secs = ULLONG_MAX ; return 1 ; }
  return uint64_scan(v, (uint64_t *)secs) == strlen(v) && *secs ;
}
