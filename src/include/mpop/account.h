/* ISC license. */

#ifndef MPOP_ACCOUNT_H
#define MPOP_ACCOUNT_H

#include <skalibs/buffer.h>
#include <skalibs/stralloc.h>

#include <mpop/settings.h>

 /* An account: normalised values of every setting (0 = unset) and which of
    them were set explicitly (own lines, parents, overrides). */

typedef struct account_s account, *account_ref ;
struct account_s
{
  char *name ;              /* 0 in --host mode */
  char *v[S_N] ;
  unsigned char set[S_N] ;
} ;

typedef struct rcfile_s rcfile, *rcfile_ref ;
struct rcfile_s
{
  char const *file ;
  account *accounts ;
  unsigned int n ;
  unsigned int a ;
  int has_password ;
} ;
#define RCFILE_ZERO { .file = 0, .accounts = 0, .n = 0, .a = 0, .has_password = 0 }

enum account_mode_e { AM_RETRIEVE, AM_SERVERINFO } ;

 /* All functions that can fail return 0 on success, or a sysexits code
    with the message (without the program name) in err. */

extern char const *mpop_home (void) ;
extern int rcfile_default (stralloc *path) ;
extern int rcfile_read (rcfile *, char const *file, stralloc *err) ;
extern account *rcfile_account (rcfile const *, char const *name) ;
extern void rcfile_free (rcfile *) ;

extern int account_set (account *, unsigned int i, char const *arg, int how) ;   /* an SE_ code */
 /* Copies every value (onlyset = 0), or only the explicitly set ones, which
    then count as set in to (inheritance, command-line overrides) */
extern int account_copy_from (account *to, account const *from, int onlyset) ;
extern int account_override (account *, char const *assignment, stralloc *err) ; /* "cmd=value" */
extern int account_complete (account *, char const *file, int mode, stralloc *err) ;
extern int account_passwordeval (account *, stralloc *err) ;
extern void account_free (account *) ;

extern int account_pretend (buffer *, account const *, char const *file, int mode) ;
extern int account_envmodifs (stralloc *modifs, account const *, char const *file) ;
extern int account_from_env (account *, stralloc *err) ;
#define account_get(a, i) ((char const *)(a)->v[i])

 /* Runs "sh -c cmd" and returns its first output line in line (NUL-terminated,
    without the line end). 1 ok, 0 no output at all, -1 system error. */
extern int mpop_eval (char const *cmd, stralloc *line) ;

#endif
