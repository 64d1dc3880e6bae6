/* ISC license. */

#ifndef MPOP_AUTH_H
#define MPOP_AUTH_H

#include <stddef.h>
#include <string.h>

#include <skalibs/stralloc.h>

#include <mpop/account.h>
#include <mpop/pop3.h>

 /* Authentication: the method, the password, the SASL exchange.

    Functions that can fail return 0 or a sysexits code; session-level
    ones leave the error in the session (p->code, p->msg, p->srvmsg),
    the others in err (without the program name). */

 /* Logs in per the account (p->a): chooses the method (pop3_auth_method,
    with the SASL hooks of this file installed), checks that the user and,
    for EXTERNAL, a TLS client certificate are there, gets the password
    only when the method needs one (auth_password), runs the exchange
    (pop3_login) and wipes the password. Call it after pop3_open. */
extern int auth_login (pop3 *) ;

 /* Whether a method (lower case, as the auth setting spells it) needs a
    user name / a password */
extern int auth_needs_user (char const *method) ;
extern int auth_needs_password (char const *method) ;

 /* The password for method, from mpop's sources in mpop's order:
    password, passwordeval (run now: first line of its output, any length,
    exit status ignored, no output at all is error 78), the keyring
    (secret-tool lookup host H service pop3 user U, when secret-tool is
    in PATH), ~/.netrc, /etc/netrc, a prompt on /dev/tty with echo off.
    Nothing found: 69. On success password holds the secret, NUL-terminated
    (len not counting the NUL); free it with secret_free. When the method
    needs no password, password is left empty and 0 is returned. Children
    get neither MPOP_PASSWORD in their environment nor the secret in argv. */
extern int auth_password (account const *, char const *method, stralloc *password, stralloc *err) ;

 /* The password file lookup: the first "machine host" entry of file whose
    login is user. 1 found (password set, NUL-terminated), 0 not found
    (no file, no such entry, or the entry has no password), -1 error
    (errno set). */
extern int netrc_lookup (char const *file, char const *host, char const *user, stralloc *password) ;

 /* Removes MPOP_PASSWORD from the environment after wiping its value in
    place (so that it is gone from /proc/PID/environ too), and forbids
    core dumps of this process. Call it right after account_from_env. */
extern void auth_scrub_env (void) ;

 /* The SASL hooks for p->sasl_hook and p->sasl_supports: the mechanisms
    of libgsasl this build can use (not the -PLUS ones: BearSSL offers no
    channel binding) and the native OAUTHBEARER and XOAUTH2. */
extern pop3_sasl_func sasl_login ;
extern int sasl_supports (char const *mech) ;   /* upper case */

 /* 1 if mech (upper case) needs libgsasl and it cannot be loaded: then
    err says why (empty when out of memory). 0 otherwise. */
extern int sasl_library_missing (char const *mech, stralloc *err) ;

 /* For --version: the methods this build and the installed libgsasl
    support, lower case, in mpop 1.4.23's order, each followed by a
    space; and the version of the libgsasl in use. */
extern char const *auth_methods_line (void) ;
extern char const *auth_library_version (void) ;
extern int auth_method_supported (char const *method) ;

 /* Secrets: grow without leaving copies behind (secret_ready makes room
    for n more bytes and a NUL), wipe then free */
extern int secret_ready (stralloc *, size_t n) ;
extern int secret_catb (stralloc *, char const *, size_t) ;
#define secret_cats(sa, s) secret_catb((sa), (s), strlen(s))
extern void secret_free (stralloc *) ;

 /* Base64 (RFC 4648), growing the stralloc as a secret: encode appends,
    decode appends and is strict (alphabet, padding only at the end;
    missing padding accepted) */
extern int base64_encode (stralloc *, char const *, size_t) ;
extern int base64_decode (stralloc *, char const *, size_t) ;  /* 1 ok, 0 invalid (errno EINVAL) or no memory */

#endif
