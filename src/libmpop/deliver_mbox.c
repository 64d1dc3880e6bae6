/* ISC license. */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>
#include <skalibs/types.h>

#include <mpop/deliver.h>
#include <mpop/envfrom.h>
#include "deliver-internal.h"

 /* mbox FILE: opened for appending (created 0600, never through a
    symlink); locked with fcntl from the first begin to the next sync;
    each message is "From SENDER asctime-UTC", the mboxrd-quoted message,
    an empty line; on any failure the file is truncated back. */

static int mbox_open (deliver *d, stralloc *err)
{
  struct stat st ;
  if (!stralloc_copy(&d->path, &d->arg)) return deliver_nomem(err) ;
  d->fd = open(d->arg.s, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600) ;
  if (d->fd < 0)
  {
    if (errno == ELOOP) return deliver_err(err, EX_IOERR, 0, "cannot open ", d->arg.s, ": it is a symbolic link, which is never followed") ;
    return deliver_err(err, EX_IOERR, errno, "cannot open ", d->arg.s) ;
  }
  if (fstat(d->fd, &st) < 0 || S_ISDIR(st.st_mode))
  {
    int e = S_ISDIR(st.st_mode) ? EISDIR : errno ;
    fd_close(d->fd) ; d->fd = -1 ;
    return deliver_err(err, EX_IOERR, e, "cannot open ", d->arg.s) ;
  }
  return 0 ;
}

static int current_size (int fd, off_t *size)
{
  struct stat st ;
  if (fstat(fd, &st) < 0) return 0 ;
  *size = S_ISREG(st.st_mode) ? st.st_size : 0 ;
  return 1 ;
}

static void unlock (deliver *d)
{
  struct flock fl = { .l_type = F_UNLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0 } ;
  if (!d->locked) return ;
  fcntl(d->fd, F_SETLK, &fl) ;
  d->locked = 0 ;
}

static int lock (deliver *d, stralloc *err)
{
  struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0 } ;
  struct timespec pause = { .tv_sec = 0, .tv_nsec = 100000000 } ;
  char fmt[UINT_FMT] ;
  for (unsigned int i = 0 ; fcntl(d->fd, F_SETLK, &fl) < 0 ; i++)
  {
    if (errno == EINTR) continue ;
    if ((errno != EAGAIN && errno != EACCES) || i >= DELIVER_LOCK_TIMEOUT * 10)
    {
      fmt[uint_fmt(fmt, DELIVER_LOCK_TIMEOUT)] = 0 ;
      return deliver_err(err, EX_IOERR, errno, "cannot lock ", d->arg.s, " (tried for ", fmt, " seconds)") ;
    }
    nanosleep(&pause, 0) ;
  }
  d->locked = 1 ;
  if (!current_size(d->fd, &d->syncstart))
  {
    unlock(d) ;
    return deliver_err(err, EX_IOERR, errno, "cannot stat ", d->arg.s) ;
  }
  return 0 ;
}

static void truncate_back (deliver *d, off_t size)
{
  struct stat st ;
  if (fstat(d->fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > size) ftruncate(d->fd, size) ;
}

static size_t fmt_asctime (char *s, time_t t)
{
  static char const days[] = "SunMonTueWedThuFriSat" ;
  static char const months[] = "JanFebMarAprMayJunJulAugSepOctNovDec" ;
  struct tm tm ;
  size_t n = 0 ;
  if (!gmtime_r(&t, &tm)) { t = 0 ; gmtime_r(&t, &tm) ; }
  memcpy(s, days + 3 * tm.tm_wday, 3) ; s[3] = ' ' ;
  memcpy(s + 4, months + 3 * tm.tm_mon, 3) ; s[7] = ' ' ;
  s[8] = tm.tm_mday >= 10 ? '0' + tm.tm_mday / 10 : ' ' ;
  s[9] = '0' + tm.tm_mday % 10 ; s[10] = ' ' ;
  s[11] = '0' + tm.tm_hour / 10 ; s[12] = '0' + tm.tm_hour % 10 ; s[13] = ':' ;
  s[14] = '0' + tm.tm_min / 10 ; s[15] = '0' + tm.tm_min % 10 ; s[16] = ':' ;
  s[17] = '0' + tm.tm_sec / 10 ; s[18] = '0' + tm.tm_sec % 10 ; s[19] = ' ' ;
  n = 20 + uint_fmt(s + 20, tm.tm_year + 1900) ;
  return n ;
}

static int mbox_begin (deliver *d, char const *sender, stralloc *err)
{
  stralloc line = STRALLOC_ZERO ;
  char date[20 + UINT_FMT] ;
  int r ;
  if (!d->locked)
  {
    r = lock(d, err) ;
    if (r) return r ;
  }
  if (!current_size(d->fd, &d->msgstart)) return deliver_err(err, EX_IOERR, errno, "cannot stat ", d->arg.s) ;
  if (!stralloc_cats(&line, "From ") || !envfrom_sanitize(&line, sender, strlen(sender))
   || !stralloc_catb(&line, " ", 1) || !stralloc_catb(&line, date, fmt_asctime(date, time(0)))
   || !stralloc_catb(&line, "\n", 1))
  {
    stralloc_free(&line) ;
    return deliver_nomem(err) ;
  }
  r = deliver_out(d, line.s, line.len, err) ;
  stralloc_free(&line) ;
  return r ;
}

static int mbox_commit (deliver *d, stralloc *err)
{
  int r = deliver_out(d, "\n", 1, err) ;
  if (!r) r = deliver_flush(d, err) ;
  if (!r) d->needsync = 1 ;
  return r ;
}

static void mbox_abort (deliver *d)
{
  truncate_back(d, d->msgstart) ;
}

 /* In the middle of a message, the lock stays and the message's bytes
    written so far get synced too, harmlessly */
static int mbox_sync (deliver *d, stralloc *err)
{
  int r = 0 ;
  if (d->needsync && !deliver_fsync(d->fd))
  {
    r = deliver_err(err, EX_IOERR, errno, "cannot sync ", d->arg.s) ;
    truncate_back(d, d->syncstart) ;
    deliver_fsync(d->fd) ;
  }
  d->needsync = 0 ;
  if (d->inmsg && !r) d->syncstart = d->msgstart ;
  else unlock(d) ;
  return r ;
}

static void mbox_close (deliver *d)
{
  if (d->needsync)
  {
    truncate_back(d, d->syncstart) ;
    deliver_fsync(d->fd) ;
    d->needsync = 0 ;
  }
  unlock(d) ;
  fd_close(d->fd) ;
  d->fd = -1 ;
}

deliver_ops const deliver_mbox_ops =
{
  .open = &mbox_open,
  .begin = &mbox_begin,
  .commit = &mbox_commit,
  .abort = &mbox_abort,
  .sync = &mbox_sync,
  .close = &mbox_close
} ;
