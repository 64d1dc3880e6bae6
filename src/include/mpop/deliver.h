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

    The deliver struct holds a DELIVER_BUFSIZE output buffer: better not
    put it on a small stack.

    Life of a delivery:
      deliver_open
      { deliver_begin  deliver_write...  (deliver_commit | deliver_abort) }...
      deliver_sync     (after one or several commits)
      deliver_close
    A committed message is stored completely but may not be durable yet
    (maildir: the file waits in tmp/, neither synced nor linked to new/;
    exchange: the directory entry is not fsynced; mbox: the file is not
    fsynced). deliver_sync makes every committed message durable (maildir:
    one sync of the filesystem's data for all of them, then their links
    into new/, then one fsync of new/): only after it succeeded may they
    be acknowledged. It may be called in
    the middle of a message (that message is not affected). For mda, commit waits
    for the command, so a committed message is already delivered.

    Failures: every function that can fail returns 0 on success, or a
    sysexits code with the message (without the program name) in err.
    After a failed begin/write/commit the message is aborted (nothing of it
    remains); after a failed sync, no message committed since the previous
    sync may be acknowledged (mbox: the file is truncated back to its size
    at the previous sync; maildir: those not linked yet are removed from
    tmp/), and a message in progress is aborted. A failed
    deliver_open leaves nothing to close.

    The mbox file is locked (fcntl write lock, retried for
    DELIVER_LOCK_TIMEOUT seconds) from the first deliver_begin after a sync
    to the next deliver_sync, abort or close.

    mda: deliver_open makes the process ignore SIGPIPE (a write to an MDA
    that stopped reading must fail, not kill us); the MDA itself starts with
    default signal dispositions, stdin the message, stdout redirected to our
    stderr (so it can never write into an ack pipe), in its own process
    group; abort kills that group, so the MDA never sees end-of-file on a
    partial message. A write that cannot proceed for d->timeout seconds
    (DELIVER_TIMEOUT when 0) fails with 74, "CMD timed out", and the
    message is aborted. Exit 0 = delivered; exit 75 (EX_TEMPFAIL) -> 75; any
    other exit status, a signal, or an MDA that did not read its input -> 74. */

#define DELIVER_LOCK_TIMEOUT 10
#define DELIVER_TIMEOUT 180       /* mpop's default timeout setting */

enum deliver_method_e
{
  DELIVER_MAILDIR,
  DELIVER_MBOX,
  DELIVER_MDA,
  DELIVER_EXCHANGE
} ;

#define DELIVER_BUFSIZE 65536

typedef struct deliver_s deliver, *deliver_ref ;
struct deliver_s
{
  int method ;
  stralloc arg ;          /* DIR, FILE or CMD, NUL-terminated */
  int dirfd ;             /* maildir: tmp/; exchange: DIR */
  int newfd ;             /* maildir: new/; mbox: FILE.mdeliver-tail */
  int fd ;                /* the message file, the mbox, or the MDA's stdin */
  pid_t pid ;             /* mda child */
  unsigned int timeout ;  /* mda: seconds a write may wait (0: DELIVER_TIMEOUT) */
  unsigned char inmsg ;
  unsigned char locked ;  /* mbox */
  unsigned char bol ;     /* the last byte written was a newline */
  unsigned char inprefix ; /* mbox: matching >*From  at a line start */
  unsigned char fromi ;   /* mbox: bytes of "From " matched */
  unsigned char epipe ;   /* mda: stopped reading */
  unsigned char needsync ;
  size_t gt ;             /* mbox: '>' seen at the line start */
  off_t msgstart ;        /* mbox: size before the current message */
  off_t syncstart ;       /* mbox: size at the previous sync */
  stralloc name ;         /* file name relative to dirfd */
  stralloc path ;         /* what error messages show */
  stralloc host ;         /* sanitised hostname, for unique names */
  stralloc pending ;      /* maildir: tmp/ names committed, not synced, each NUL-terminated */
  int recfd ;             /* maildir: the batch record; -1 not opened yet, -2 cannot be */
  stralloc record ;       /* its header, then "uid TAB name LF" per message whose ack may be unread */
  size_t rechead ;        /* the length of the header in record */
  stralloc seen ;         /* the record a killed run left: the same form */
  size_t blen ;
  char buf[DELIVER_BUFSIZE] ;
} ;
#define DELIVER_ZERO { .method = -1, .arg = STRALLOC_ZERO, .dirfd = -1, .newfd = -1, .fd = -1, .pid = 0, .timeout = 0, .inmsg = 0, .locked = 0, .bol = 1, .inprefix = 0, .fromi = 0, .epipe = 0, .needsync = 0, .gt = 0, .msgstart = 0, .syncstart = 0, .name = STRALLOC_ZERO, .path = STRALLOC_ZERO, .host = STRALLOC_ZERO, .pending = STRALLOC_ZERO, .recfd = -1, .record = STRALLOC_ZERO, .rechead = 0, .seen = STRALLOC_ZERO, .blen = 0 }

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
extern int deliver_commit (deliver *, stralloc *err) ;
extern void deliver_abort (deliver *) ;
extern int deliver_sync (deliver *, stralloc *err) ;
 /* Aborts a message in progress, does NOT sync, releases everything.
    mbox: messages committed since the last sync are truncated away and
    maildir: removed from tmp/ (they were never acknowledged); exchange:
    they stay. */
extern void deliver_close (deliver *) ;

 /* The batch record (maildir): what a kill between a message's link into
    new/ and the reading of its ack would otherwise deliver twice.
    deliver_record_for tells whether the messages of the mailbox origin
    ("user@host") are recorded: its first call opens DIR/tmp/.mdeliver-HASH
    for that origin, locks it and loads what a killed run left in it, and
    later calls answer 1 for that origin only; always 0 when it cannot be
    (another method than maildir, an empty origin, the record held by
    another deliverer, or not readable). Each committed
    message is then noted with deliver_record_add (its UID; the file name
    is the one just committed); deliver_sync writes the record before it
    syncs the filesystem, so the record is durable before any of its
    messages is visible. deliver_record_known tells whether uid is named by
    the record of the killed run and its file is still in new/ or cur/:
    then it is stored already, not to be stored again, and it is noted as
    if just committed (1; 0 no; -1 out of memory). deliver_record_acked:
    every ack written so far has been read, so the next write of the record
    leaves their messages out (the file is not touched now: what it still
    names is recorded, which stays true); what the killed run left stays in
    it until the stream has ended. deliver_close removes the file when
    nothing in it is needed any more. */
extern int deliver_record_for (deliver *, char const *origin) ;
extern int deliver_record_add (deliver *, char const *uid) ;
extern int deliver_record_known (deliver *, char const *uid) ;
extern void deliver_record_acked (deliver *, int ended) ;

 /* For a signal handler that is about to end the process: async-signal-
    safe. Removes the message in progress as well as it can (kills the
    MDA's process group, truncates the mbox, unlinks the temporary file);
    the caller then exits. */
extern void deliver_emergency (deliver *) ;

 /* Input with CRLF or LF line ends, cut in chunks: appends s to sa with
    every CRLF turned into LF (a bare CR is kept). A CR ending a chunk is
    held in *cr; at the end of the input call it with s = 0, len = 0 to
    release a held CR. 1 ok, 0 nomem. */
extern int deliver_tolf (stralloc *sa, char const *s, size_t len, unsigned char *cr) ;

#endif
