/* ISC license. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>   /* renameat */
#include <sysexits.h>
#include <unistd.h>

#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>

#include <mpop/deliver.h>
#include "deliver-internal.h"

 /* maildir DIR: DIR, DIR/tmp and DIR/new must exist, nothing is created.
    A message is written to tmp/NAME (O_EXCL, no symlink), fsynced, linked
    to new/NAME (renamed if the filesystem has no hard links), and tmp/NAME
    removed; sync fsyncs new/ once for all the messages committed since. */

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
  if (!deliver_fsync(d->fd)) return deliver_err(err, EX_IOERR, errno, "cannot sync ", d->path.s) ;
  if (close(d->fd) < 0) { d->fd = -1 ; return deliver_err(err, EX_IOERR, errno, "cannot write to ", d->path.s) ; }
  d->fd = -1 ;
  if (linkat(d->dirfd, d->name.s, d->newfd, d->name.s, 0) == 0)
    unlinkat(d->dirfd, d->name.s, 0) ;
  else if (!((errno == EPERM || errno == ENOTSUP || errno == EXDEV)
   && renameat(d->dirfd, d->name.s, d->newfd, d->name.s) == 0))
    return deliver_err(err, EX_IOERR, errno, d->arg.s, ": cannot link tmp/", d->name.s, " to new/", d->name.s) ;
  d->needsync = 1 ;
  return 0 ;
}

static void maildir_abort (deliver *d)
{
  if (d->fd >= 0) { fd_close(d->fd) ; d->fd = -1 ; }
  unlinkat(d->dirfd, d->name.s, 0) ;
}

static int maildir_sync (deliver *d, stralloc *err)
{
  if (!d->needsync) return 0 ;
  if (fsync(d->newfd) < 0) return deliver_err(err, EX_IOERR, errno, "cannot sync ", d->arg.s, "/new") ;
  d->needsync = 0 ;
  return 0 ;
}

static void maildir_close (deliver *d)
{
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
