/* ISC license. */

#ifndef MPOP_DELIVER_H
#define MPOP_DELIVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <skalibs/stralloc.h>

 /* Local delivery: maildir DIR, mbox FILE, mda CMD, exchange DIR.

    Message bytes are given in LF form (what mpop-stream carries); the
    deliverer applies the method's rules (mbox From line and mboxrd
    quoting, CRLF for exchange) and adds a final newline if missing.

    Life of a delivery:
      deliver_open
      { deliver_begin  deliver_write...  (deliver_commit | deliver_abort) }...
      deliver_sync     (after one or several commits)
      deliver_close
    A committed message is stored completely but may not be durable yet
    (maildir/exchange: the directory entry is not fsynced; mbox: the file
    is not fsynced). deliver_sync makes every committed message durable:
    only after it succeeded may they be acknowledged. For mda, commit waits
    for the command, so a committed message is already delivered.

    Failures: every function that can fail returns 0 on success, or a
    sysexits code with the message (without the program name) in err.
    After a failed begin/write/commit the message is aborted (nothing of it
    remains); after a failed sync, no message committed since the previous
    sync may be acknowledged (mbox: the file is truncated back to its size
    at the previous sync). A failed deliver_open leaves nothing to close.

    The mbox file is locked (fcntl write lock, retried for
    DELIVER_LOCK_TIMEOUT seconds) from the first deliver_begin after a sync
    to the next deliver_sync, abort or close.

    mda: deliver_open makes the process ignore SIGPIPE (a write to an MDA
    that stopped reading must fail, not kill us); the MDA itself starts with
    default signal dispositions, stdin the message, stdout redirected to our
    stderr (so it can never write into an ack pipe), in its own process
    group; abort kills that group, so the MDA never sees end-of-file on a
    partial message. Exit 0 = delivered; exit 75 (EX_TEMPFAIL) -> 75; any
    other exit status, a signal, or an MDA that did not read its input -> 74. */

#define DELIVER_LOCK_TIMEOUT 10

enum deliver_method_e
{
  DELIVER_MAILDIR,
  DELIVER_MBOX,
  DELIVER_MDA,
  DELIVER_EXCHANGE
} ;

typedef struct deliver_s deliver, *deliver_ref ;
struct deliver_s
{
  int method ;
  stralloc arg ;          /* DIR, FILE or CMD, NUL-terminated */
  int dirfd ;             /* maildir: tmp/; exchange: DIR */
  int newfd ;             /* maildir: new/ */
  int fd ;                /* the message file, the mbox, or the MDA's stdin */
  pid_t pid ;             /* mda child */
  unsigned char inmsg ;
  unsigned char locked ;
  unsigned char bol ;     /* at beginning of a line */
  unsigned char quote ;   /* mbox: state of the >*From  matcher */
  unsigned char cr ;      /* deliver_write_crlf: a CR is pending */
  unsigned char epipe ;
  unsigned char needsync ;
  uint64_t counter ;      /* unique names */
  off_t msgstart ;        /* mbox: size before the current message */
  off_t syncstart ;       /* mbox: size at the previous sync */
  stralloc name ;         /* current file name */
  stralloc host ;         /* sanitised hostname */
  size_t blen ;
  char buf[65536] ;
} ;
#define DELIVER_ZERO { .method = -1, .arg = STRALLOC_ZERO, .dirfd = -1, .newfd = -1, .fd = -1, .pid = 0, .inmsg = 0, .locked = 0, .bol = 1, .quote = 0, .cr = 0, .epipe = 0, .needsync = 0, .counter = 0, .msgstart = 0, .syncstart = 0, .name = STRALLOC_ZERO, .host = STRALLOC_ZERO, .blen = 0 }

 /* "maildir", "mbox", "mda", "exchange" -> a method, or -1 */
extern int deliver_method (char const *name) ;

 /* spec is "METHOD ARG" (as in $MPOP_DELIVERY). Checks the target: a
    maildir must exist with tmp/ and new/ (nothing is created); an mbox is
    opened (created 0600 if missing, never through a symlink); an exchange
    directory must exist. Bad spec: EX_CONFIG. */
extern int deliver_open (deliver *, char const *spec, stralloc *err) ;
extern int deliver_open_method (deliver *, int method, char const *arg, stralloc *err) ;

 /* 1 if deliver_begin needs the real envelope sender (mbox; mda whose
    command contains %F), 0 if it is ignored. */
extern int deliver_needs_sender (deliver const *) ;

 /* sender: as given by envfrom (already sanitised); 0 = ENVFROM_DEFAULT */
extern int deliver_begin (deliver *, char const *sender, stralloc *err) ;
extern int deliver_write (deliver *, char const *s, size_t len, stralloc *err) ;
 /* The same, for input with CRLF or LF line ends (CRLF becomes LF; a bare
    CR is kept). */
extern int deliver_write_crlf (deliver *, char const *s, size_t len, stralloc *err) ;
extern int deliver_commit (deliver *, stralloc *err) ;
extern void deliver_abort (deliver *) ;
extern int deliver_sync (deliver *, stralloc *err) ;
 /* Aborts a message in progress, does NOT sync, releases everything. */
extern void deliver_close (deliver *) ;

#endif
