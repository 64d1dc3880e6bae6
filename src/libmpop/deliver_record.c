/* ISC license. */

#include <dirent.h>
#include <errno.h>
#include <sysexits.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>
#include <skalibs/uint64.h>

#include <mpop/deliver.h>
#include "deliver-internal.h"

 /* DIR/tmp/.mdeliver-NAMEHASH holds a line "mdeliver-record 1 LEN HASH",
    then LEN bytes whose FNV-1a hash is HASH (16 hex digits): the origin
    LF, then "uid TAB name LF" for each message linked (or about to be
    linked) into new/ whose ack may not have been read. Every line is a
    message of that origin stored under that name: after a kill, a message
    sent again whose file is still there is stored already. The file is
    rewritten in place with one write, never truncated (bytes past LEN are
    left over from a longer record); a torn or garbled one is ignored. */

#define RECORD_MAGIC "mdeliver-record 1 "
#define RECORD_MAX 1048576
#define RECORD_NONE (-2)       /* recfd when the record cannot be kept */

static uint64_t fnv (uint64_t h, char const *s, size_t len)
{
  for (size_t i = 0 ; i < len ; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ULL ;
  return h ;
}
#define FNV_START 14695981039346656037ULL

static void hex16 (char *s, uint64_t h)
{
  static char const hex[16] = "0123456789abcdef" ;
  for (unsigned int i = 0 ; i < 16 ; i++) s[i] = hex[(h >> (60 - 4 * i)) & 15] ;
}

static void record_name (char *name, char const *origin)
{
  memcpy(name, ".mdeliver-", 10) ;
  hex16(name + 10, fnv(FNV_START, origin, strlen(origin))) ;
  name[26] = 0 ;
}

static int lock_record (int fd)
{
  struct flock l = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0 } ;
  return fcntl(fd, F_SETLK, &l) == 0 ;
}

 /* The body of a whole record in s, or 0 */
static char const *record_body (char const *s, size_t n, size_t *len)
{
  size_t m = sizeof(RECORD_MAGIC) - 1, i ;
  uint64_t want ;
  char h[16] ;
  if (n < m || memcmp(s, RECORD_MAGIC, m)) return 0 ;
  i = m + uint64_scan(s + m, &want) ;
  if (i == m || i + 18 > n || s[i] != ' ' || s[i + 17] != '\n' || want > n - i - 18) return 0 ;
  hex16(h, fnv(FNV_START, s + i + 18, want)) ;
  if (memcmp(h, s + i + 1, 16)) return 0 ;
  *len = want ;
  return s + i + 18 ;
}

 /* What a killed run left, if it is whole and for the same origin */
static int load_seen (deliver *d, int fd)
{
  struct stat st ;
  stralloc sa = STRALLOC_ZERO ;
  char const *body ;
  size_t len ;
  ssize_t r ;
  if (fstat(fd, &st) < 0 || st.st_size > RECORD_MAX) return 0 ;
  if (!st.st_size) return 1 ;
  if (!stralloc_ready(&sa, st.st_size)) return 0 ;
  r = allread(fd, sa.s, st.st_size) ;
  body = r > 0 ? record_body(sa.s, r, &len) : 0 ;
  if (body && len >= d->rechead && !memcmp(body, d->record.s, d->rechead) && body[len - 1] == '\n')
  {
    d->seen.len = 0 ;
    if (!stralloc_catb(&d->seen, body + d->rechead, len - d->rechead)) { stralloc_free(&sa) ; return 0 ; }
  }
  stralloc_free(&sa) ;
  return 1 ;
}

static int record_open (deliver *d, char const *origin)
{
  char name[27] ;
  int fd ;
  if (d->method != DELIVER_MAILDIR || !*origin || strchr(origin, '\n')) return 0 ;
  d->record.len = 0 ;
  if (!stralloc_cats(&d->record, origin) || !stralloc_catb(&d->record, "\n", 1)) return 0 ;
  d->rechead = d->record.len ;
  record_name(name, origin) ;
  fd = openat(d->dirfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600) ;
  if (fd < 0) return 0 ;
  if (!lock_record(fd) || !load_seen(d, fd))
  {
    fd_close(fd) ;
    d->seen.len = 0 ;
    return 0 ;
  }
  d->recfd = fd ;
  return 1 ;
}

int deliver_record_for (deliver *d, char const *origin)
{
  if (d->recfd == -1 && !record_open(d, origin)) d->recfd = RECORD_NONE ;
  return d->recfd >= 0 && strlen(origin) + 1 == d->rechead && !memcmp(d->record.s, origin, d->rechead - 1) ;
}

int deliver_record_add (deliver *d, char const *uid)
{
  if (d->recfd < 0) return 1 ;
  return stralloc_cats(&d->record, uid) && stralloc_catb(&d->record, "\t", 1)
   && stralloc_cats(&d->record, d->name.s) && stralloc_catb(&d->record, "\n", 1) ;
}

 /* The name seen[] gives uid, NUL-terminated in name, or 0 */
static int seen_name (deliver const *d, char const *uid, stralloc *name)
{
  size_t ulen = strlen(uid) ;
  for (size_t i = 0 ; i < d->seen.len ;)
  {
    char const *line = d->seen.s + i ;
    char const *nl = memchr(line, '\n', d->seen.len - i) ;
    if ((size_t)(nl - line) > ulen && !memcmp(line, uid, ulen) && line[ulen] == '\t')
    {
      name->len = 0 ;
      return stralloc_catb(name, line + ulen + 1, nl - line - ulen - 1) && stralloc_0(name) ? 1 : -1 ;
    }
    i = nl + 1 - d->seen.s ;
  }
  return 0 ;
}

 /* Whether DIR/cur has name, with or without its ":2,flags" info */
static int in_cur (deliver const *d, char const *name)
{
  size_t len = strlen(name) ;
  int found = 0 ;
  DIR *dir ;
  int fd = openat(d->newfd, "../cur", O_RDONLY | O_DIRECTORY | O_CLOEXEC) ;
  if (fd < 0) return 0 ;
  dir = fdopendir(fd) ;
  if (!dir) { fd_close(fd) ; return 0 ; }
  for (;;)
  {
    struct dirent *de = readdir(dir) ;
    if (!de) break ;
    if (!strncmp(de->d_name, name, len) && (!de->d_name[len] || de->d_name[len] == ':')) { found = 1 ; break ; }
  }
  closedir(dir) ;
  return found ;
}

int deliver_record_known (deliver *d, char const *uid)
{
  struct stat st ;
  int r ;
  if (d->recfd < 0 || !d->seen.len) return 0 ;
  r = seen_name(d, uid, &d->name) ;
  if (r <= 0) return r ;
  if (strchr(d->name.s, '/') || d->name.s[0] == '.') return 0 ;
  if (fstatat(d->newfd, d->name.s, &st, AT_SYMLINK_NOFOLLOW) < 0 && !in_cur(d, d->name.s)) return 0 ;
  return deliver_record_add(d, uid) ? 1 : -1 ;
}

int deliver_record_write (deliver *d, stralloc *err)
{
  char head[sizeof(RECORD_MAGIC) + UINT64_FMT + 18] ;
  size_t len = d->record.len + d->seen.len ;
  size_t m = sizeof(RECORD_MAGIC) - 1 ;
  uint64_t h ;
  struct iovec v[4] =
  {
    { .iov_base = head, .iov_len = 0 },
    { .iov_base = d->record.s, .iov_len = d->rechead },
    { .iov_base = d->seen.s, .iov_len = d->seen.len },
    { .iov_base = d->record.s + d->rechead, .iov_len = d->record.len - d->rechead }
  } ;
  if (d->recfd < 0) return 0 ;
  h = fnv(fnv(fnv(FNV_START, d->record.s, d->rechead), d->seen.s, d->seen.len), d->record.s + d->rechead, d->record.len - d->rechead) ;
  memcpy(head, RECORD_MAGIC, m) ;
  m += uint64_fmt(head + m, len) ;
  head[m++] = ' ' ;
  hex16(head + m, h) ;
  m += 16 ;
  head[m++] = '\n' ;
  v[0].iov_len = m ;
  if (pwritev(d->recfd, v, 4, 0) != (ssize_t)(m + len))
    return deliver_err(err, EX_IOERR, errno, "cannot write the batch record in ", d->arg.s, "/tmp") ;
  return 0 ;
}

 /* Every ack so far was read: the record on disk is rewritten with the
    next batch (until then it names what is recorded already, which is
    still true); what a killed run left stays until the stream has ended */
void deliver_record_acked (deliver *d, int ended)
{
  if (d->recfd < 0) return ;
  d->record.len = d->rechead ;
  if (ended) d->seen.len = 0 ;
}

void deliver_record_close (deliver *d)
{
  if (d->recfd >= 0)
  {
    if (d->record.len == d->rechead && !d->seen.len)
    {
      char name[27] ;
      d->record.s[d->rechead - 1] = 0 ;
      record_name(name, d->record.s) ;
      unlinkat(d->dirfd, name, 0) ;
    }
    fd_close(d->recfd) ;
  }
  d->recfd = -1 ;
  stralloc_free(&d->record) ;
  stralloc_free(&d->seen) ;
  d->rechead = 0 ;
}
