/* ISC license. */

#ifndef MPOP_SETTINGS_H
#define MPOP_SETTINGS_H

#include <stddef.h>
#include <skalibs/stralloc.h>

 /* The one table of rc commands (mpop 1.4.23). Everything that knows a
    setting's name, grammar, environment variable, --pretend label or long
    option goes through it. */

enum setting_type_e
{
  ST_TEXT,          /* free text */
  ST_ONOFF,         /* on | off */
  ST_PORT,          /* 1..65535 */
  ST_TIMEOUT,       /* off | seconds >= 1 */
  ST_PIPELINING,    /* auto | on | off */
  ST_AUTH,          /* on | method */
  ST_FINGERPRINT,   /* hex pairs: SHA-256, SHA-1 or MD5 */
  ST_DELIVERY,      /* METHOD ARGUMENT */
  ST_KEEP,          /* on | off | duration */
  ST_SIZE,          /* off | bytes */
  ST_POSINT,        /* integer >= 1 */
  ST_IGNORED        /* accepted and ignored */
} ;

#define SF_EMPTY_UNSETS 0x01  /* an empty argument unsets */
#define SF_EMPTY_IS_ON  0x02  /* an empty argument means on */
#define SF_TILDE        0x04  /* a leading ~ is expanded */
#define SF_SERVERINFO   0x08  /* part of the connection settings (-S too) */
#define SF_SECRET       0x10  /* never shown or passed in argv */
#define SF_LONG_OPTARG  0x20  /* long option's value is optional */
#define SF_NO_LONGOPT   0x40  /* no command-line option */

typedef struct setting_s setting, *setting_ref ;
struct setting_s
{
  char const *name ;       /* rc command */
  char const *label ;      /* --pretend label */
  unsigned char type ;
  unsigned char flags ;
  char const *def ;        /* normalised default, 0 = none */
} ;

enum setting_index_e
{
  S_HOST, S_PORT, S_SOURCE_IP, S_PROXY_HOST, S_PROXY_PORT, S_SOCKET,
  S_TIMEOUT, S_PIPELINING, S_RECEIVED_HEADER, S_AUTH, S_USER, S_PASSWORD,
  S_PASSWORDEVAL, S_NTLMDOMAIN, S_TLS, S_TLS_STARTTLS, S_TLS_TRUST_FILE,
  S_TLS_CRL_FILE, S_TLS_FINGERPRINT, S_TLS_KEY_FILE, S_TLS_CERT_FILE,
  S_TLS_CERTCHECK, S_TLS_MIN_DH_PRIME_BITS, S_TLS_PRIORITIES,
  S_TLS_HOST_OVERRIDE, S_DELIVERY, S_UIDLS_FILE, S_ONLY_NEW, S_KEEP,
  S_KILLSIZE, S_SKIPSIZE, S_FILTER, S_TLS_FORCE_SSLV3,
  S_N
} ;

extern setting const settings_table[S_N] ;

 /* What normalising an argument can say */
enum setting_err_e
{
  SE_OK = 0,
  SE_UNSET,        /* valid: the setting becomes unset */
  SE_NEEDSARG,     /* command X needs an argument */
  SE_INVALID,      /* invalid argument X for command Y */
  SE_BADSIZE,      /* invalid size (not a number or out of range): X */
  SE_NOMEM
} ;

extern int settings_find (char const *name, size_t len) ;
extern int settings_find_longopt (char const *opt, size_t len) ;
extern size_t settings_envname (char *buf, unsigned int i) ;
#define SETTINGS_ENVNAME_MAX 32
extern size_t settings_longopt (char *buf, unsigned int i) ;

 /* Turns a raw argument into the normalised value (appended to sa with its
    NUL). how says where it comes from: an rc file line (already trimmed),
    a command-line option (--delivery=METHOD,ARG), or the environment (an
    already normalised value, only validated). home is used for ~. */
enum settings_how_e { NORM_RC, NORM_CLI, NORM_ENV } ;
extern int settings_normalize (unsigned int i, char const *arg, char const *home, int how, stralloc *sa) ;

 /* Typed views of normalised values */
extern int settings_onoff (char const *v) ;                    /* 1 on, 0 off */
extern int settings_number (char const *v, unsigned long long *n) ;  /* 0 for "off" */
extern int settings_keep (char const *v, unsigned long long *secs) ; /* on = ULLONG_MAX */
extern int settings_fingerprint (char const *v, unsigned char *out, size_t *len) ;

 /* Authentication methods known to the rc grammar, in mpop 1.4.23's order */
extern char const *const settings_auth_methods[] ;

#endif
