/* ISC license. */

#ifndef MPOP_SASL_INTERNAL_H
#define MPOP_SASL_INTERNAL_H

#include <skalibs/stralloc.h>

#include <mpop/account.h>

 /* One mechanism's client side, whatever implements it (libgsasl, or the
    native OAuth code) */

#define SASLMECH_IR 0x01       /* client-first: may send an initial response */
#define SASLMECH_OAUTH 0x02    /* native bearer-token mechanism */
#define SASLMECH_BEARER 0x04   /* OAUTHBEARER (RFC 7628), else XOAUTH2 */

typedef struct saslmech_s saslmech, *saslmech_ref ;
struct saslmech_s
{
  char const *name ;
  unsigned int flags ;
  account const *a ;
  char const *user ;
  char const *password ;
  void *ctx ;                  /* Gsasl * */
  void *session ;              /* Gsasl_session * */
  int steps ;
} ;
#define SASLMECH_ZERO { .name = 0, .flags = 0, .a = 0, .user = 0, .password = 0, .ctx = 0, .session = 0, .steps = 0 }

 /* 0, or a sysexits code with the message in err */
extern int saslmech_start (saslmech *, account const *, char const *mech, char const *user, char const *password, stralloc *err) ;

 /* One step: the server's decoded challenge in, the client's raw answer
    appended to out (as a secret). 1 the client side is complete, 0 it
    needs more, -1 error (message in err). */
extern int saslmech_step (saslmech *, char const *in, size_t len, stralloc *out, stralloc *err) ;

 /* Wipes the credentials the mechanism kept, frees everything */
extern void saslmech_end (saslmech *) ;

 /* Mechanism flags, or -1 for a mechanism this code does not know */
extern int saslmech_flags (char const *mech) ;

 /* Native OAuth payloads (RFC 7628 OAUTHBEARER, Google's XOAUTH2),
    appended to out as secrets */
extern int oauth_bearer (stralloc *out, account const *, char const *user, char const *token) ;
extern int oauth_xoauth2 (stralloc *out, char const *user, char const *token) ;

#endif
