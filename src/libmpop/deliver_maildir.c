/* ISC license. */

#ifdef __linux__
# define _GNU_SOURCE  /* syncfs */
# define MAILDIR_SYNCFS
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>   /* renameat */
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>

#include <mpop/deliver.h>
#include "deliver-internal.h"

 /* maildir DIR: DIR, DIR/tmp and DIR/new must exist, nothing is created.
    A message is written to tmp/NAME (O_EXCL, no symlink) and waits there.
    sync makes all the waiting messages durable at once: one syncfs(2) of
    the maildir's filesystem (without syncfs, each file was fsynced at
    commit), then each is moved to new/NAME without ever replacing a file
    (renameat2 RENAME_NOREPLACE; where it is missing, a link then removal
    of tmp/NAME, or a rename if the filesystem has no hard links), then
    new/ is fsynced once. So a
    message appears in new/ only with its data durable, and the time from
    its link to its ack is only a few links and one directory fsync. */

static int open_sub (deliver *d, int dfd, char const *sub, stralloc *err)
{
  int fd = openat(dfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC) ;
  if (fd < 0)
    deliver_err(err, EX_IOERR, errno, "cannot open maildir subdirectory ", d->arg.s, sub[0] == 't' ? "/tmp" : "/new") ;
  return fd ;
}

static int maildir_open (deliver *d, stralloc *err)
{
  int dfd = open(d->arg.s, O_RDONLY | O_DIRECTORY | O_CLOEXEC) ;
  if (dfd < 0) return deliver_err(err, EX_IOERR, errno, "cannot open maildir ", d->arg.s) ;
  d->dirfd = open_sub(d, dfd, "tmp", err) ;
  if (d->dirfd >= 0)
  {
    d->newfd = open_sub(d, dfd, "new", err) ;
    if (d->newfd < 0) { fd_close(d->dirfd) ; d->dirfd = -1 ; }
  }
  fd_close(dfd) ;
  return d->newfd < 0 ? EX_IOERR : 0 ;
}

static int set_path (deliver *d, char const *sub)
{
  d->path.len = 0 ;
  return stralloc_cats(&d->path, d->arg.s) && stralloc_cats(&d->path, sub)
   && stralloc_cats(&d->path, d->name.s) && stralloc_0(&d->path) ;
}

static int maildir_begin (deliver *d, char const *sender, stralloc *err)
{
  (void)sender ;
  for (unsigned int tries = 0 ; tries < 10 ; tries++)
  {
    if (!deliver_uniquename(d, 0) || !set_path(d, "/tmp/")) return deliver_nomem(err) ;
    d->fd = deliver_create(d->dirfd, d->name.s) ;
    if (d->fd >= 0) return 0 ;
    if (errno != EEXIST) break ;
  }
  return deliver_err(err, EX_IOERR, errno, "cannot create ", d->path.s) ;
}

static int maildir_commit (deliver *d, stralloc *err)
{
  int r = deliver_flush(d, err) ;
  if (r) return r ;
#ifndef MAILDIR_SYNCFS
  if (!deliver_fsync(d->fd)) return deliver_err(err, EX_IOERR, errno, "cannot sync ", d->path.s) ;
#endif
  if (close(d->fd) < 0) { d->fd = -1 ; return deliver_err(err, EX_IOERR, errno, "cannot write to ", d->path.s) ; }
  d->fd = -1 ;
  if (!stralloc_catb(&d->pending, d->name.s, d->name.len)) return deliver_nomem(err) ;
  return 0 ;
}

 /* Removes the waiting messages from pending.s + from on */
static void drop_pending (deliver *d, size_t from)
{
  for (size_t i = from ; i < d->pending.len ; i += strlen(d->pending.s + i) + 1)
    unlinkat(d->dirfd, d->pending.s + i, 0) ;
  d->pending.len = 0 ;
}

static int link_new (deliver *d, char const *name, stralloc *err)
{
#ifdef RENAME_NOREPLACE
  if (renameat2(d->dirfd, name, d->newfd, name, RENAME_NOREPLACE) == 0) return 0 ;
  if (errno != EINVAL && errno != ENOSYS) return deliver_err(err, EX_IOERR, errno, d->arg.s, ": cannot move tmp/", name, " to new/", name) ;
#endif
  if (linkat(d->dirfd, name, d->newfd, name, 0) == 0)
  {
    unlinkat(d->dirfd, name, 0) ;
    return 0 ;
  }
  if ((errno == EPERM || errno == ENOTSUP || errno == EXDEV)
   && renameat(d->dirfd, name, d->newfd, name) == 0) return 0 ;
  return deliver_err(err, EX_IOERR, errno, d->arg.s, ": cannot move tmp/", name, " to new/", name) ;
}

static void maildir_abort (deliver *d)
{
  if (d->fd >= 0) { fd_close(d->fd) ; d->fd = -1 ; }
  unlinkat(d->dirfd, d->name.s, 0) ;
}

static int sync_failed (deliver *d, int r)
{
  drop_pending(d, 0) ;
  return r ;
}

static int maildir_sync (deliver *d, stralloc *err)
{
  int r ;
  if (!d->pending.len) return 0 ;
  r = deliver_record_write(d, err) ;
  if (r) return sync_failed(d, r) ;
#ifdef MAILDIR_SYNCFS
  if (syncfs(d->dirfd) < 0)
    return sync_failed(d, deliver_err(err, EX_IOERR, errno, "cannot sync ", d->arg.s, "/tmp")) ;
#else
  if (d->recfd >= 0 && !deliver_fsync(d->recfd))
    return sync_failed(d, deliver_err(err, EX_IOERR, errno, "cannot sync the batch record in ", d->arg.s, "/tmp")) ;
#endif
  for (size_t i = 0 ; i < d->pending.len ; i += strlen(d->pending.s + i) + 1)
  {
    r = link_new(d, d->pending.s + i, err) ;
    if (r)
    {
      drop_pending(d, i) ;
      return r ;
    }
  }
  d->pending.len = 0 ;
  if (fsync(d->newfd) < 0) return deliver_err(err, EX_IOERR, errno, "cannot sync ", d->arg.s, "/new") ;
  return 0 ;
}

static void maildir_close (deliver *d)
{
  deliver_record_close(d) ;
  if (d->dirfd >= 0) drop_pending(d, 0) ;
  if (d->dirfd >= 0) fd_close(d->dirfd) ;
  if (d->newfd >= 0) fd_close(d->newfd) ;
  d->dirfd = d->newfd = -1 ;
}

deliver_ops const deliver_maildir_ops =
{
  .open = &maildir_open,
  .begin = &maildir_begin,
  .commit = &maildir_commit,
  .abort = &maildir_abort,
  .sync = &maildir_sync,
  .close = &maildir_close
} ;
