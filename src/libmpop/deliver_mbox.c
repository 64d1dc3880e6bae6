/* ISC license. */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>
#include <skalibs/types.h>

#include <mpop/deliver.h>
#include <mpop/envfrom.h>
#include "deliver-internal.h"

 /* mbox FILE: opened for appending (created 0600, never through a
    symlink); locked with fcntl from the first begin to the next sync;
    each message is "From SENDER asctime-UTC", the mboxrd-quoted message,
    an empty line; on any failure the file is truncated back.

    A SIGKILL cannot truncate back: while it holds the lock, mdeliver keeps
    a tail record in FILE.mdeliver-tail (while it can create it): the
    device and inode of FILE, its size at the last sync (start) and the
    size it will have after the write being made (end), updated before
    every write. The next mdeliver to lock FILE removes what a killed one
    left unsynced: it truncates FILE back to start, or, when another
    program appended after end, moves those bytes down to start. Synced
    messages have start behind them; unsynced ones were never acked. */

#define TAIL_SUFFIX ".mdeliver-tail"
#define TAIL_LEN 84   /* 4 numbers of 20 digits, 3 spaces, a newline */

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

static void tail_fmt (char *s, uint64_t const *v)
{
  for (unsigned int i = 0 ; i < 4 ; i++)
  {
    uint640_fmt(s + 21 * i, v[i], 20) ;
    s[21 * i + 20] = i < 3 ? ' ' : '\n' ;
  }
}

static int tail_scan (char const *s, uint64_t *v)
{
  for (unsigned int i = 0 ; i < 4 ; i++)
  {
    if (s[21 * i + 20] != (i < 3 ? ' ' : '\n')) return 0 ;
    if (uint64_scan(s + 21 * i, v + i) != 20) return 0 ;
  }
  return 1 ;
}

 /* Records [start, end) as unsynced; the record is made before the bytes */
static void tail_mark (deliver *d, off_t end)
{
  struct stat st ;
  char s[TAIL_LEN] ;
  uint64_t v[4] ;
  if (d->newfd < 0 || fstat(d->fd, &st) < 0) return ;
  v[0] = st.st_dev ; v[1] = st.st_ino ; v[2] = d->syncstart ; v[3] = end ;
  tail_fmt(s, v) ;
  if (pwrite(d->newfd, s, TAIL_LEN, 0) != TAIL_LEN)
  {
    fd_close(d->newfd) ;
    d->newfd = -1 ;
  }
}

 /* Moves [from, size) down to to, then truncates; through a second
    descriptor, since ours appends */
static int move_down (deliver *d, struct stat const *st, off_t to, off_t from)
{
  char buf[65536] ;
  struct stat st2 ;
  off_t size = st->st_size ;
  int ok = 0 ;
  int fd = open(d->arg.s, O_RDWR | O_NOFOLLOW | O_CLOEXEC) ;
  if (fd < 0) return 0 ;
  if (fstat(fd, &st2) < 0 || st2.st_dev != st->st_dev || st2.st_ino != st->st_ino) goto end ;
  while (from < size)
  {
    ssize_t r = pread(fd, buf, size - from < (off_t)sizeof(buf) ? (size_t)(size - from) : sizeof(buf), from) ;
    if (r <= 0 || pwrite(fd, buf, r, to) != r) goto end ;
    from += r ; to += r ;
  }
  ok = ftruncate(fd, to) == 0 ;
 end:
  fd_close(fd) ;
  return ok ;
}

 /* With the lock held: repairs what a killed mdeliver left, then records
    a clean tail */
static int tail_open (deliver *d, stralloc *err)
{
  struct stat st ;
  char s[TAIL_LEN] ;
  uint64_t v[4] ;
  d->newfd = -1 ;
  d->name.len = 0 ;
  if (!stralloc_cats(&d->name, d->arg.s) || !stralloc_cats(&d->name, TAIL_SUFFIX) || !stralloc_0(&d->name)) return deliver_nomem(err) ;
  d->newfd = open(d->name.s, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600) ;
  if (d->newfd < 0) return 0 ;
  if (fstat(d->fd, &st) < 0) return deliver_err(err, EX_IOERR, errno, "cannot stat ", d->arg.s) ;
  if (pread(d->newfd, s, TAIL_LEN, 0) == TAIL_LEN && tail_scan(s, v)
   && v[0] == (uint64_t)st.st_dev && v[1] == (uint64_t)st.st_ino && (uint64_t)st.st_size > v[2] && v[2] <= v[3])
  {
    int ok = (uint64_t)st.st_size <= v[3] ? ftruncate(d->fd, v[2]) == 0 : move_down(d, &st, v[2], v[3]) ;
    if (!ok || !deliver_fsync(d->fd))
      return deliver_err(err, EX_IOERR, errno, "cannot remove the unfinished delivery of a killed mdeliver from ", d->arg.s) ;
  }
  return 0 ;
}

static void tail_close (deliver *d)
{
  struct stat st ;
  if (d->newfd < 0) return ;
  if (fstat(d->fd, &st) == 0)
  {
    d->syncstart = st.st_size ;
    tail_mark(d, st.st_size) ;
  }
  if (d->newfd < 0) return ;
  fd_close(d->newfd) ;
  d->newfd = -1 ;
}

void deliver_mbox_premark (deliver *d, size_t len)
{
  struct stat st ;
  if (d->newfd >= 0 && fstat(d->fd, &st) == 0) tail_mark(d, st.st_size + len) ;
}

static void unlock (deliver *d)
{
  struct flock fl = { .l_type = F_UNLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0 } ;
  if (!d->locked) return ;
  tail_close(d) ;
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
  {
    int r = tail_open(d, err) ;
    if (r)
    {
      if (d->newfd >= 0) { fd_close(d->newfd) ; d->newfd = -1 ; }
      unlock(d) ;
      return r ;
    }
  }
  if (!current_size(d->fd, &d->syncstart))
  {
    unlock(d) ;
    return deliver_err(err, EX_IOERR, errno, "cannot stat ", d->arg.s) ;
  }
  tail_mark(d, d->syncstart) ;
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
  if (d->inmsg && !r)
  {
    struct stat st ;
    d->syncstart = d->msgstart ;
    if (fstat(d->fd, &st) == 0) tail_mark(d, st.st_size) ;
  }
  else unlock(d) ;
  return r ;
}

 /* The tail record goes when we can take the lock at once (nobody is
    delivering): the next locker repairs or recreates it */
static void tail_remove (deliver *d)
{
  struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0 } ;
  stralloc e = STRALLOC_ZERO ;
  if (!d->name.len || fcntl(d->fd, F_SETLK, &fl) < 0) return ;
  d->locked = 1 ;
  if (!tail_open(d, &e) && d->newfd >= 0) unlink(d->name.s) ;
  if (d->newfd >= 0) { fd_close(d->newfd) ; d->newfd = -1 ; }
  stralloc_free(&e) ;
  unlock(d) ;
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
  tail_remove(d) ;
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
