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

 /* exchange DIR: each message is written with CRLF line ends to
    DIR/.NAME.tmp (O_EXCL, no symlink, 0600), fsynced, then renamed to
    DIR/NAME, NAME = mpop-SECS-M...-HOST.eml; sync fsyncs DIR. */

static int exchange_open (deliver *d, stralloc *err)
{
  d->dirfd = open(d->arg.s, O_RDONLY | O_DIRECTORY | O_CLOEXEC) ;
  if (d->dirfd < 0) return deliver_err(err, EX_IOERR, errno, "cannot open directory ", d->arg.s) ;
  return 0 ;
}

 /* name = ".FINAL.tmp", path = "DIR/.FINAL.tmp"; the final name is
    name without its first byte and its last 4 */
static int exchange_begin (deliver *d, char const *sender, stralloc *err)
{
  (void)sender ;
  for (unsigned int tries = 0 ; tries < 10 ; tries++)
  {
    if (!deliver_uniquename(d, 1)) return deliver_nomem(err) ;
    d->name.len-- ;
    d->path.len = 0 ;
    if (!stralloc_insertb(&d->name, 0, ".", 1) || !stralloc_cats(&d->name, ".tmp") || !stralloc_0(&d->name)
     || !stralloc_cats(&d->path, d->arg.s) || !stralloc_catb(&d->path, "/", 1)
     || !stralloc_cats(&d->path, d->name.s) || !stralloc_0(&d->path))
      return deliver_nomem(err) ;
    d->fd = deliver_create(d->dirfd, d->name.s) ;
    if (d->fd >= 0) return 0 ;
    if (errno != EEXIST) break ;
  }
  return deliver_err(err, EX_IOERR, errno, "cannot create ", d->path.s) ;
}

static int exchange_commit (deliver *d, stralloc *err)
{
  stralloc final = STRALLOC_ZERO ;
  int r = deliver_flush(d, err) ;
  if (r) return r ;
  if (!deliver_fsync(d->fd)) return deliver_err(err, EX_IOERR, errno, "cannot sync ", d->path.s) ;
  if (close(d->fd) < 0) { d->fd = -1 ; return deliver_err(err, EX_IOERR, errno, "cannot write to ", d->path.s) ; }
  d->fd = -1 ;
  if (!stralloc_catb(&final, d->name.s + 1, d->name.len - 6) || !stralloc_0(&final)) return deliver_nomem(err) ;
  if (renameat(d->dirfd, d->name.s, d->dirfd, final.s) < 0)
    r = deliver_err(err, EX_IOERR, errno, "cannot rename ", d->path.s, " to ", final.s) ;
  else d->needsync = 1 ;
  stralloc_free(&final) ;
  return r ;
}

static void exchange_abort (deliver *d)
{
  if (d->fd >= 0) { fd_close(d->fd) ; d->fd = -1 ; }
  unlinkat(d->dirfd, d->name.s, 0) ;
}

static int exchange_sync (deliver *d, stralloc *err)
{
  if (!d->needsync) return 0 ;
  if (fsync(d->dirfd) < 0) return deliver_err(err, EX_IOERR, errno, "cannot sync ", d->arg.s) ;
  d->needsync = 0 ;
  return 0 ;
}

static void exchange_close (deliver *d)
{
  if (d->dirfd >= 0) fd_close(d->dirfd) ;
  d->dirfd = -1 ;
}

deliver_ops const deliver_exchange_ops =
{
  .open = &exchange_open,
  .begin = &exchange_begin,
  .commit = &exchange_commit,
  .abort = &exchange_abort,
  .sync = &exchange_sync,
  .close = &exchange_close
} ;
