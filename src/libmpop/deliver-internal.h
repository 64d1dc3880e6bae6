/* ISC license. */

#ifndef MPOP_DELIVER_INTERNAL_H
#define MPOP_DELIVER_INTERNAL_H

#include <skalibs/stralloc.h>

#include <mpop/deliver.h>

typedef struct deliver_ops_s deliver_ops, *deliver_ops_ref ;
struct deliver_ops_s
{
  int (*open) (deliver *, stralloc *) ;
  int (*begin) (deliver *, char const *, stralloc *) ;
  int (*commit) (deliver *, stralloc *) ;
  void (*abort) (deliver *) ;
  int (*sync) (deliver *, stralloc *) ;
  void (*close) (deliver *) ;
} ;

extern deliver_ops const deliver_maildir_ops ;
extern deliver_ops const deliver_mbox_ops ;
extern deliver_ops const deliver_mda_ops ;
extern deliver_ops const deliver_exchange_ops ;

 /* err = the strings (null ones skipped) [": " strerror(e) if e];
    returns code, or EX_OSERR with an empty err when out of memory */
extern int deliver_errv (stralloc *err, int code, int e, char const *const *parts, unsigned int n) ;
#define deliver_err(err, code, e, ...) deliver_errv(err, code, e, (char const *const[]){ __VA_ARGS__ }, sizeof((char const *const[]){ __VA_ARGS__ }) / sizeof(char const *))
#define deliver_nomem(err) deliver_errv(err, EX_OSERR, 0, 0, 0)

 /* Bytes as they go to the target, through the output buffer */
extern int deliver_out (deliver *, char const *s, size_t len, stralloc *err) ;
extern int deliver_flush (deliver *, stralloc *err) ;

 /* mbox: records the len bytes about to be written as unsynced */
extern void deliver_mbox_premark (deliver *, size_t len) ;

 /* mda: writes all of s to the MDA's non-blocking pipe, waiting at most
    d->timeout seconds each time it is full; returns the bytes written,
    errno ETIMEDOUT at the deadline */
extern size_t deliver_mda_write (deliver *, char const *s, size_t len) ;

 /* A unique file name, maildir style:
    SECS.MUSECSPpidQcounterRrandom.host (exchange: mpop-SECS-M...-host.eml) */
extern int deliver_uniquename (deliver *, int exchange) ;

 /* Creates name in dirfd for writing: O_EXCL, never through a symlink,
    mode 0600, close-on-exec. */
extern int deliver_create (int dirfd, char const *name) ;

 /* maildir: the batch record, written before the sync that makes its
    messages durable; closed (and removed when empty) with the maildir */
extern int deliver_record_write (deliver *, stralloc *err) ;
extern void deliver_record_close (deliver *) ;

 /* fsync, ignoring EINVAL (special files such as /dev/null) */
extern int deliver_fsync (int fd) ;

#endif
