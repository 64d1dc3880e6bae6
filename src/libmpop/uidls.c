/* ISC license. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>  /* rename */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>
#include <skalibs/genalloc.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/types.h>

#include <mpop/config.h>
#include <mpop/uidls.h>
#include "uidls-internal.h"

#define TS_FMT (UINT64_FMT + 1)
#define STR_(x) #x
#define STR(x) STR_(x)

static int syserr (stralloc *err, char const *a, char const *b, char const *c)
{
  return uidls_say(err, EX_IOERR, a, b, c, strerror(errno)) ;
}

static int name_ok (char const *s)
{
  if (!*s) return 0 ;
  for (; *s ; s++) if ((unsigned char)*s <= ' ' || *s == 127) return 0 ;
  return 1 ;
}

static int dir_sync (char const *file)
{
  char const *slash = strrchr(file, '/') ;
  size_t len = !slash ? 1 : slash == file ? 1 : (size_t)(slash - file) ;
  char dir[len + 1] ;
  int fd, r ;
  if (slash) memcpy(dir, file, len) ; else dir[0] = '.' ;
  dir[len] = 0 ;
  fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) ;
  if (fd < 0) return 0 ;
  r = fsync(fd) ;
  if (r < 0 && errno == EINVAL) r = 0 ;
  fd_close(fd) ;
  return !r ;
}

static int is_dir (char const *path)
{
  struct stat st ;
  return !stat(path, &st) && S_ISDIR(st.st_mode) ;
}

 /* mkdir -p of the directories above file, mode 0700 */
static int make_parents (char const *file, stralloc *err)
{
  size_t len = strlen(file) ;
  char path[len + 1] ;
  memcpy(path, file, len + 1) ;
  for (size_t i = 1 ; i < len ; i++)
  {
    if (path[i] != '/') continue ;
    path[i] = 0 ;
    if (mkdir(path, 0700) < 0 && errno != EEXIST && !is_dir(path)) return syserr(err, "cannot create directory ", path, ": ") ;
    path[i] = '/' ;
  }
  return 0 ;
}

 /* 1 locked, 0 held by another process, -1 error */
static int try_lock (int fd, short type)
{
  struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0 } ;
  if (!fcntl(fd, F_SETLK, &fl)) return 1 ;
  return errno == EACCES || errno == EAGAIN ? 0 : -1 ;
}

 /* 1 if file still names the inode of fd, 0 if not, -1 error */
static int still_there (int fd, char const *file)
{
  struct stat a, b ;
  if (fstat(fd, &a) < 0) return -1 ;
  if (stat(file, &b) < 0) return errno == ENOENT ? 0 : -1 ;
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino ;
}

static void pause_tenth (void)
{
  struct timespec ts = { .tv_sec = 0, .tv_nsec = 100000000 } ;
  nanosleep(&ts, 0) ;
}

static int open_file (uidls const *u)
{
  int how = u->flags & UIDLS_READONLY ? O_RDONLY : O_RDWR ;
  if (!(u->flags & UIDLS_NOCREATE)) how |= O_CREAT ;
  return open(u->file, how | O_CLOEXEC, 0600) ;
}

static int lock_error (int fd, char const *file, stralloc *err)
{
  int e = syserr(err, "cannot lock ", file, ": ") ;
  fd_close(fd) ;
  return e ;
}

 /* Opens and locks the file, retrying every 0.1 s while another process
    holds it, and reopening when a rewrite replaced the file meanwhile.
    Leaves u->fd at -1 for a missing file with UIDLS_NOCREATE. */
static int open_locked (uidls *u, stralloc *err)
{
  short type = u->flags & UIDLS_READONLY ? F_RDLCK : F_WRLCK ;
  int fd = -1, busy = EAGAIN ;
  for (unsigned int tries = 0 ; tries < UIDLS_LOCK_TIMEOUT * 10 ; tries++)
  {
    int r ;
    if (fd < 0 && (fd = open_file(u)) < 0)
      return errno == ENOENT && u->flags & UIDLS_NOCREATE ? 0 : syserr(err, u->file, ": ", "") ;
    r = try_lock(fd, type) ;
    if (r < 0) return lock_error(fd, u->file, err) ;
    if (!r)
    {
      busy = errno ;
      if (u->flags & UIDLS_NOWAIT) break ;
      pause_tenth() ;
      continue ;
    }
    r = still_there(fd, u->file) ;
    if (r < 0) return lock_error(fd, u->file, err) ;
    if (r)
    {
      u->fd = fd ;
      return 0 ;
    }
    fd_close(fd) ;
    fd = -1 ;
  }
  if (fd >= 0) fd_close(fd) ;
  errno = busy ;
  if (u->flags & UIDLS_NOWAIT) return uidls_say(err, EX_TEMPFAIL, "cannot lock ", u->file, ": ", strerror(errno)) ;
  return syserr(err, "cannot lock ", u->file, " (tried for " STR(UIDLS_LOCK_TIMEOUT) " seconds): ") ;
}

 /* A writer notes whether the file is exactly what it would write back
    (it is read while the server is still busy with STAT): then an
    unchanged list needs neither formatting nor writing at the end. */
static int is_canonical (uidls *u, char const *s, size_t len)
{
  stralloc sa = STRALLOC_ZERO ;
  int same = uidls_format(&sa, &u->lists) && sa.len == len && !memcmp(sa.s, s, len) ;
  stralloc_free(&sa) ;
  return same ;
}

static int read_file (uidls *u, stralloc *err)
{
  stralloc sa = STRALLOC_ZERO ;
  int e = 0 ;
  if (u->fd < 0) return 0 ;
  if (!slurp(&sa, u->fd)) e = syserr(err, u->file, ": ", "") ;
  else e = uidls_parse(&u->lists, u->file, sa.s, sa.len, u->now, err) ;
  if (!e && !(u->flags & UIDLS_READONLY)) u->canonical = is_canonical(u, sa.s, sa.len) ;
  stralloc_free(&sa) ;
  return e ;
}

 /* 1 if a journal was found and merged, 0 if there is none */
static int read_journal (uidls *u, stralloc *err)
{
  stralloc sa = STRALLOC_ZERO ;
  int e, fd = open(u->journal, O_RDONLY | O_CLOEXEC) ;
  if (fd < 0) return errno == ENOENT ? 0 : -syserr(err, u->journal, ": ", "") ;
  e = slurp(&sa, fd) ? uidls_journal_parse(&u->lists, sa.s, sa.len, &u->jbad) : syserr(err, u->journal, ": ", "") ;
  fd_close(fd) ;
  stralloc_free(&sa) ;
  return e ? -e : 1 ;
}

static int find_self (uidls *u, char const *host, char const *user)
{
  uidls_list *l = genalloc_s(uidls_list, &u->lists) ;
  size_t n = genalloc_len(uidls_list, &u->lists) ;
  for (size_t i = 0 ; i < n ; i++)
    if (!strcmp(l[i].host, host) && !strcmp(l[i].user, user))
    {
      u->self = i ;
      return 0 ;
    }
  if (!uidls_lists_add(&u->lists, host, strlen(host), user, strlen(user))) return EX_OSERR ;
  {
    uidls_list mine = genalloc_s(uidls_list, &u->lists)[n] ;
    l = genalloc_s(uidls_list, &u->lists) ;
    memmove(l + 1, l, n * sizeof(uidls_list)) ;
    l[0] = mine ;
  }
  u->self = 0 ;
  u->selfnew = 1 ;
  return 0 ;
}

static int start (uidls *u, char const *file, char const *host, char const *user, int64_t now, unsigned int flags, stralloc *err)
{
  size_t len = strlen(file) ;
  u->self = UIDLS_NOSELF ;
  if (host && (!name_ok(host) || !name_ok(user)))
    return uidls_say(err, EX_CONFIG, file, ": cannot store UIDs for host \"", host, "\" and user \"", user, "\": empty, or with spaces or control characters") ;
  u->file = strdup(file) ;
  u->journal = malloc(len + 9) ;
  if (!u->file || !u->journal) return EX_OSERR ;
  memcpy(u->journal, file, len) ;
  memcpy(u->journal + len, ".journal", 9) ;
  u->now = now ;
  u->flags = flags ;
  return 0 ;
}

static int read_all (uidls *u, char const *host, char const *user, stralloc *err)
{
  int e = 0, j = 0 ;
  if (!(u->flags & UIDLS_APPEND))
  {
    e = read_file(u, err) ;
    if (!e) j = read_journal(u, err) ;
    if (j < 0) return -j ;
  }
  if (!e && host) e = find_self(u, host, user) ;
  if (!e && j && !(u->flags & UIDLS_READONLY)) e = uidls_commit(u, 0, err) ;
  return e ;
}

int uidls_open (uidls *u, char const *file, char const *host, char const *user, int64_t now, unsigned int flags, stralloc *err)
{
  uidls zero = UIDLS_ZERO ;
  int e ;
  *u = zero ;
  if (host || user || !(flags & (UIDLS_READONLY | UIDLS_APPEND)))
  {
    if (!host) host = "" ;
    if (!user) user = "" ;
  }
  e = start(u, file, host, user, now, flags, err) ;
  if (!e && flags & UIDLS_MKDIR) e = make_parents(file, err) ;
  if (!e) e = open_locked(u, err) ;
  if (!e) e = read_all(u, host, user, err) ;
  if (e) uidls_close(u) ;
  return e ;
}

static int check_mode (uidls const *u, unsigned int forbidden, int needself, stralloc *err)
{
  if (u->flags & forbidden) return uidls_say(err, EX_SOFTWARE, u->file, ": not opened for this update") ;
  if (needself && u->self == UIDLS_NOSELF) return uidls_say(err, EX_SOFTWARE, u->file, ": opened without an account") ;
  return 0 ;
}

int uidls_journal_add (uidls *u, char const *uid, int64_t ts, stralloc *err)
{
  uidls_list const *self ;
  int e = check_mode(u, UIDLS_READONLY, 1, err) ;
  if (e) return e ;
  if (!uidls_uid_valid(uid, strlen(uid))) return uidls_say(err, EX_DATAERR, u->file, ": invalid UID") ;
  self = genalloc_s(uidls_list, &u->lists) + u->self ;
  return uidls_journal_line(&u->jbuf, self->host, self->user, uid, ts) ? 0 : EX_OSERR ;
}

 /* A failed append leaves the journal as it was, so that no torn line
    stays in the middle of it. */
static int journal_write (uidls *u, stralloc *err)
{
  if (allwrite(u->jfd, u->jbuf.s, u->jbuf.len) == u->jbuf.len)
  {
    u->jsize += u->jbuf.len ;
    u->jbuf.len = 0 ;
    u->jdirty = 1 ;
    return 0 ;
  }
  {
    int e = syserr(err, u->journal, ": ", "") ;
    if (ftruncate(u->jfd, u->jsize) < 0) { fd_close(u->jfd) ; u->jfd = -1 ; }
    return e ;
  }
}

#define TAIL_MAX 32768

 /* Cuts a torn last line (the bytes after the last newline, left by a
    write that a crash interrupted) so that new lines do not follow it. */
static int journal_trim (uidls *u)
{
  struct stat st ;
  char buf[TAIL_MAX] ;
  size_t len, keep ;
  if (fstat(u->jfd, &st) < 0) return 0 ;
  u->jsize = st.st_size ;
  if (!st.st_size) return 1 ;
  len = st.st_size < TAIL_MAX ? (size_t)st.st_size : TAIL_MAX ;
  if (pread(u->jfd, buf, len, st.st_size - len) != (ssize_t)len) return 0 ;
  keep = len ;
  while (keep && buf[keep - 1] != '\n') keep-- ;
  if (keep == len) return 1 ;
  if (!keep && len < (size_t)st.st_size)
  {
    if (allwrite(u->jfd, "\n", 1) != 1) return 0 ;
    u->jsize++ ;
    return 1 ;
  }
  u->jsize -= len - keep ;
  return !ftruncate(u->jfd, u->jsize) ;
}

static int journal_open (uidls *u, stralloc *err)
{
  u->jfd = open(u->journal, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600) ;
  if (u->jfd < 0) return syserr(err, u->journal, ": ", "") ;
  if (!journal_trim(u))
  {
    int e = syserr(err, u->journal, ": ", "") ;
    fd_close(u->jfd) ;
    u->jfd = -1 ;
    return e ;
  }
  u->jsync = 1 ;
  return 0 ;
}

int uidls_journal_flush (uidls *u, stralloc *err)
{
  int e ;
  if (!u->jbuf.len) return 0 ;
  if (u->jfd < 0 && (e = journal_open(u, err))) return e ;
  return journal_write(u, err) ;
}

int uidls_journal_sync (uidls *u, stralloc *err)
{
  int e = uidls_journal_flush(u, err) ;
  if (e) return e ;
  if (u->jdirty && fd_sync(u->jfd) < 0) return syserr(err, u->journal, ": ", "") ;
  u->jdirty = 0 ;
  if (u->jsync && !dir_sync(u->journal)) return syserr(err, "cannot sync the directory of ", u->journal, ": ") ;
  u->jsync = 0 ;
  return 0 ;
}

static int put_header (stralloc *sa)
{
  return stralloc_cats(sa, "# This UIDLs file was written by ")
    && stralloc_cats(sa, PROG ? PROG : "libmpop")
    && stralloc_cats(sa, " (mpop toolkit " MPOP_VERSION "),\n"
      "# in the format of mpop 1.4.23.\n"
      "#\n"
      "# A line that starts with a space begins the list of one account:\n"
      "# \" number-of-uids hostname user\". Each of the following lines holds\n"
      "# one UID, a space, and the Unix time when the UID was first seen.\n"
      "# The UIDs of a list are sorted bytewise.\n"
      "#\n") ;
}

 /* 1 if "uid ts" is a line that mpop reads back as this entry */
static int entry_ok (char const *uid, int64_t ts)
{
  char fmt[TS_FMT] ;
  size_t len = 0 ;
  if (!*uid || *uid == ' ') return 0 ;
  for (; uid[len] ; len++) if (uid[len] == '\n') return 0 ;
  return len + 1 + int64_fmt(fmt, ts) <= UIDLS_LINE_MAX ;
}

static int put_list (stralloc *sa, uidls_list *l)
{
  uidls_set *set = &l->set ;
  size_t len, n = 0 ;
  char fmt[TS_FMT] ;
  uidls_set_sort(set) ;
  len = uidls_set_len(set) ;
  for (size_t i = 0 ; i < len ; i++) n += entry_ok(uidls_set_uid(set, i), uidls_set_ts(set, i)) ;
  if (!n) return 1 ;
  fmt[size_fmt(fmt, n)] = 0 ;
  if (!stralloc_catb(sa, " ", 1) || !stralloc_cats(sa, fmt) || !stralloc_catb(sa, " ", 1)
   || !stralloc_cats(sa, l->host) || !stralloc_catb(sa, " ", 1) || !stralloc_cats(sa, l->user)
   || !stralloc_catb(sa, "\n", 1)) return 0 ;
  for (size_t i = 0 ; i < len ; i++)
  {
    char const *uid = uidls_set_uid(set, i) ;
    int64_t ts = uidls_set_ts(set, i) ;
    if (!entry_ok(uid, ts)) continue ;
    fmt[int64_fmt(fmt, ts)] = 0 ;
    if (!stralloc_cats(sa, uid) || !stralloc_catb(sa, " ", 1) || !stralloc_cats(sa, fmt)
     || !stralloc_catb(sa, "\n", 1)) return 0 ;
  }
  return 1 ;
}

int uidls_format (stralloc *sa, genalloc *lists)
{
  uidls_list *l = genalloc_s(uidls_list, lists) ;
  if (!put_header(sa)) return 0 ;
  for (size_t i = 0 ; i < genalloc_len(uidls_list, lists) ; i++)
    if (!put_list(sa, l + i)) return 0 ;
  return 1 ;
}

 /* Temp file, locked before it gets the name so that nobody reads it
    before the journal is gone; written, fsynced, renamed, dir fsynced. */
static int replace (uidls *u, char const *s, size_t len, stralloc *err)
{
  size_t flen = strlen(u->file) ;
  char tmp[flen + 8] ;
  int fd ;
  memcpy(tmp, u->file, flen) ;
  memcpy(tmp + flen, ".XXXXXX", 8) ;
  fd = mkstemp(tmp) ;
  if (fd < 0) return syserr(err, tmp, ": ", "") ;
  if (coe(fd) < 0 || fd_chmod(fd, 0600) < 0 || try_lock(fd, F_WRLCK) <= 0
   || allwrite(fd, s, len) < len || fd_sync(fd) < 0)
  {
    int e = syserr(err, tmp, ": ", "") ;
    unlink(tmp) ;
    fd_close(fd) ;
    return e ;
  }
  if (rename(tmp, u->file) < 0)
  {
    int e = uidls_say(err, EX_IOERR, "cannot rename ", tmp, " to ", u->file, ": ", strerror(errno)) ;
    unlink(tmp) ;
    fd_close(fd) ;
    return e ;
  }
  if (u->fd >= 0) fd_close(u->fd) ;
  u->fd = fd ;
  u->canonical = 1 ;
  return dir_sync(u->file) ? 0 : syserr(err, "cannot sync the directory of ", u->file, ": ") ;
}

static int remove_journal (uidls *u, stralloc *err)
{
  if (u->jfd >= 0) fd_close(u->jfd) ;
  u->jfd = -1 ;
  u->jbuf.len = 0 ;
  u->jsync = 0 ;
  if (unlink(u->journal) < 0) return errno == ENOENT ? 0 : syserr(err, "cannot remove ", u->journal, ": ") ;
  return dir_sync(u->journal) ? 0 : syserr(err, "cannot sync the directory of ", u->journal, ": ") ;
}

 /* Nothing to write when the file already holds exactly these bytes and
    no journal is left to fold: a poll that found nothing new costs no
    rewrite and no sync. */
static int same_as_file (uidls const *u, char const *s, size_t len)
{
  struct stat st ;
  void *map ;
  int same ;
  if (u->fd < 0 || fstat(u->fd, &st) < 0 || (uint64_t)st.st_size != len || !len) return 0 ;
  map = mmap(0, len, PROT_READ, MAP_SHARED, u->fd, 0) ;
  if (map == MAP_FAILED) return 0 ;
  same = !memcmp(map, s, len) ;
  munmap(map, len) ;
  return same ;
}

static int sets_equal (uidls_set *a, uidls_set *b)
{
  size_t n ;
  uidls_set_sort(a) ;
  uidls_set_sort(b) ;
  n = uidls_set_len(a) ;
  if (uidls_set_len(b) != n) return 0 ;
  for (size_t i = 0 ; i < n ; i++)
    if (uidls_set_ts(a, i) != uidls_set_ts(b, i) || strcmp(uidls_set_uid(a, i), uidls_set_uid(b, i))) return 0 ;
  return 1 ;
}

static int journal_exists (uidls const *u)
{
  struct stat st ;
  return u->jfd >= 0 || u->jbuf.len || !stat(u->journal, &st) || errno != ENOENT ;
}

int uidls_commit (uidls *u, uidls_set *mine, stralloc *err)
{
  stralloc sa = STRALLOC_ZERO ;
  int e = check_mode(u, UIDLS_READONLY | UIDLS_APPEND, !!mine, err) ;
  if (e) return e ;
  if (mine && u->canonical && !journal_exists(u) && sets_equal(uidls_self(u), mine))
  {
    uidls_set_free(mine) ;
    return 0 ;
  }
  if (mine)
  {
    uidls_set *self = uidls_self(u) ;
    uidls_set old = *self ;
    *self = *mine ;
    *mine = old ;
    uidls_set_free(mine) ;
  }
  if (!uidls_format(&sa, &u->lists)) e = EX_OSERR ;
  else if (!journal_exists(u) && same_as_file(u, sa.s, sa.len)) e = 0 ;
  else
  {
    e = replace(u, sa.s, sa.len, err) ;
    if (!e) e = remove_journal(u, err) ;
  }
  stralloc_free(&sa) ;
  return e ;
}

void uidls_close (uidls *u)
{
  uidls zero = UIDLS_ZERO ;
  if (u->jfd >= 0) fd_close(u->jfd) ;
  if (u->fd >= 0) fd_close(u->fd) ;
  uidls_lists_free(&u->lists) ;
  stralloc_free(&u->jbuf) ;
  free(u->file) ;
  free(u->journal) ;
  *u = zero ;
}
