/* ISC license. */

#include <string.h>
#include <sysexits.h>
#include <time.h>

#include <skalibs/allreadwrite.h>
#include <skalibs/buffer.h>
#include <skalibs/djbunix.h>
#include <skalibs/genalloc.h>
#include <skalibs/sgetopt.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/types.h>

#include <mpop/account.h>
#include <mpop/err.h>
#include <mpop/settings.h>
#include <mpop/uidls.h>
#include <mpop/uidls_import.h>

extern char **environ ;

#define USAGE "uidlstore [ -f file ] [ -h host ] [ -u user ] { list [ -a ] | add | prune | check | import fetchmail file [ user@host ] | import getmail file | lock prog... }"

typedef struct where_s where, *where_ref ;
struct where_s
{
  char const *file ;
  char const *host ;
  char const *user ;
} ;

static void die_err (int e, stralloc const *err)
{
  if (!err->len) mpop_dienomem() ;
  mpop_die(e, err->s) ;
}

static void die_write (void)
{
  mpop_diesys(EX_IOERR, "cannot write to stdout") ;
}

static void open_or_die (uidls *u, where const *w, int account, unsigned int flags)
{
  stralloc err = STRALLOC_ZERO ;
  int e = uidls_open(u, w->file, account ? w->host : 0, account ? w->user : 0, time(0), flags, &err) ;
  if (e) die_err(e, &err) ;
}

 /* Standard input, one bounded line at a time */

typedef struct reader_s reader, *reader_ref ;
struct reader_s
{
  char buf[4096] ;
  size_t pos ;
  size_t len ;
  int eof ;
  size_t n ;
  stralloc line ;
} ;
#define READER_ZERO { .pos = 0, .len = 0, .eof = 0, .n = 0, .line = STRALLOC_ZERO }
#define reader_buffered(r) ((r)->pos < (r)->len)

static int reader_fill (reader *r)
{
  ssize_t k ;
  if (r->eof) return 0 ;
  k = fd_read(0, r->buf, sizeof r->buf) ;
  if (k < 0) mpop_diesys(EX_IOERR, "cannot read standard input") ;
  r->eof = !k ;
  r->pos = 0 ;
  r->len = k ;
  return k > 0 ;
}

 /* 1: a line (NUL-terminated, without newline) in r->line; 0: end of input */
static int reader_next (reader *r)
{
  r->line.len = 0 ;
  for (;;)
  {
    char const *nl ;
    size_t take ;
    if (!reader_buffered(r) && !reader_fill(r)) break ;
    nl = memchr(r->buf + r->pos, '\n', r->len - r->pos) ;
    take = nl ? (size_t)(nl - r->buf) - r->pos : r->len - r->pos ;
    if (r->line.len + take > UIDLS_LINE_MAX)
    {
      char fmt[SIZE_FMT] ;
      fmt[size_fmt(fmt, r->n + 1)] = 0 ;
      mpop_die(EX_DATAERR, "standard input, line ", fmt, ": line too long") ;
    }
    if (!stralloc_catb(&r->line, r->buf + r->pos, take)) mpop_dienomem() ;
    r->pos += take + !!nl ;
    if (nl) break ;
  }
  if (!r->line.len && r->eof) return 0 ;
  if (!stralloc_0(&r->line)) mpop_dienomem() ;
  r->line.len-- ;
  r->n++ ;
  return 1 ;
}

 /* list */

static void put_entries (uidls_set *set)
{
  char fmt[UINT64_FMT + 1] ;
  for (size_t i = 0 ; i < uidls_set_len(set) ; i++)
  {
    fmt[int64_fmt(fmt, uidls_set_ts(set, i))] = 0 ;
    if (buffer_puts(buffer_1, uidls_set_uid(set, i)) < 0 || buffer_put(buffer_1, " ", 1) < 0
     || buffer_puts(buffer_1, fmt) < 0 || buffer_put(buffer_1, "\n", 1) < 0) die_write() ;
  }
}

static void put_list (uidls_list *l)
{
  char fmt[SIZE_FMT] ;
  uidls_set_sort(&l->set) ;
  if (!uidls_set_len(&l->set)) return ;
  fmt[size_fmt(fmt, uidls_set_len(&l->set))] = 0 ;
  if (buffer_put(buffer_1, " ", 1) < 0 || buffer_puts(buffer_1, fmt) < 0 || buffer_put(buffer_1, " ", 1) < 0
   || buffer_puts(buffer_1, l->host) < 0 || buffer_put(buffer_1, " ", 1) < 0
   || buffer_puts(buffer_1, l->user) < 0 || buffer_put(buffer_1, "\n", 1) < 0) die_write() ;
  put_entries(&l->set) ;
}

static int do_list (where const *w, int all)
{
  uidls u ;
  open_or_die(&u, w, !all, UIDLS_READONLY | UIDLS_NOCREATE) ;
  if (all)
    for (size_t i = 0 ; i < genalloc_len(uidls_list, &u.lists) ; i++)
      put_list(genalloc_s(uidls_list, &u.lists) + i) ;
  else
  {
    uidls_set_sort(uidls_self(&u)) ;
    put_entries(uidls_self(&u)) ;
  }
  if (!buffer_flush(buffer_1)) die_write() ;
  uidls_close(&u) ;
  return 0 ;
}

 /* add: the file is checked (and a journal left by an interrupted run
    folded) first; then every batch of lines that arrived together is made
    durable in the journal before the next read; the journal is folded into
    the file at the end (or by the next program that opens it). While the
    input flows, a busy lock (say, pop3fetch reading the file at the other
    end of the pipeline) is not waited for: the lines stay pending and go
    with the next batch. A line starting with a space is the stream uid
    of a message without a UID: there is nothing to record. */

static int try_open (uidls *u, where const *w, unsigned int flags)
{
  stralloc err = STRALLOC_ZERO ;
  int e = uidls_open(u, w->file, w->host, w->user, time(0), flags, &err) ;
  if (e && !(e == EX_TEMPFAIL && flags & UIDLS_NOWAIT)) die_err(e, &err) ;
  stralloc_free(&err) ;
  return !e ;
}

static void fold (where const *w, unsigned int nowait)
{
  uidls u ;
  if (try_open(&u, w, UIDLS_MKDIR | nowait)) uidls_close(&u) ;
}

 /* 1 if the batch is recorded, 0 if it stays pending */
static int record (where const *w, stralloc *batch, unsigned int nowait)
{
  stralloc err = STRALLOC_ZERO ;
  int64_t now = time(0) ;
  uidls u ;
  int e = 0 ;
  if (!batch->len) return 1 ;
  if (!try_open(&u, w, UIDLS_APPEND | UIDLS_MKDIR | nowait)) return 0 ;
  for (size_t i = 0 ; !e && i < batch->len ; i += strlen(batch->s + i) + 1)
    e = uidls_journal_add(&u, batch->s + i, now, &err) ;
  if (!e) e = uidls_journal_sync(&u, &err) ;
  if (e) die_err(e, &err) ;
  uidls_close(&u) ;
  batch->len = 0 ;
  return 1 ;
}

static void bad_uid (where const *w, stralloc *batch, size_t line)
{
  char fmt[SIZE_FMT] ;
  record(w, batch, 0) ;
  fmt[size_fmt(fmt, line)] = 0 ;
  mpop_die(EX_DATAERR, "standard input, line ", fmt, ": invalid UID") ;
}

static int do_add (where const *w)
{
  reader r = READER_ZERO ;
  stralloc batch = STRALLOC_ZERO ;
  int any = 0 ;
  fold(w, UIDLS_NOWAIT) ;
  while (reader_next(&r))
  {
    if (r.line.len && r.line.s[0] != ' ')
    {
      if (!uidls_uid_valid(r.line.s, r.line.len)) bad_uid(w, &batch, r.n) ;
      if (!stralloc_catb(&batch, r.line.s, r.line.len + 1)) mpop_dienomem() ;
      any = 1 ;
    }
    if (!reader_buffered(&r)) record(w, &batch, UIDLS_NOWAIT) ;
  }
  record(w, &batch, 0) ;
  if (any) fold(w, 0) ;
  stralloc_free(&batch) ;
  stralloc_free(&r.line) ;
  return 0 ;
}

 /* prune */

static int do_prune (where const *w)
{
  stralloc err = STRALLOC_ZERO ;
  uidls_set keep = UIDLS_SET_ZERO ;
  uidls_set mine = UIDLS_SET_ZERO ;
  reader r = READER_ZERO ;
  uidls_set *self ;
  uidls u ;
  int e ;
  while (reader_next(&r))
    if (!uidls_set_add(&keep, r.line.s, r.line.len, 0)) mpop_dienomem() ;
  open_or_die(&u, w, 1, UIDLS_MKDIR) ;
  self = uidls_self(&u) ;
  uidls_set_sort(self) ;
  for (size_t i = 0 ; i < uidls_set_len(self) ; i++)
    if (uidls_set_find(&keep, uidls_set_uid(self, i), 0)
     && !uidls_set_add(&mine, uidls_set_uid(self, i), strlen(uidls_set_uid(self, i)), uidls_set_ts(self, i)))
      mpop_dienomem() ;
  e = uidls_commit(&u, &mine, &err) ;
  if (e) die_err(e, &err) ;
  uidls_close(&u) ;
  uidls_set_free(&keep) ;
  stralloc_free(&r.line) ;
  return 0 ;
}

 /* check */

static int do_check (where const *w)
{
  uidls u ;
  open_or_die(&u, w, 0, UIDLS_READONLY | UIDLS_NOCREATE) ;
  if (u.jbad)
  {
    char fmt[SIZE_FMT] ;
    fmt[size_fmt(fmt, u.jbad)] = 0 ;
    mpop_die(EX_DATAERR, u.journal, ", line ", fmt, ": invalid journal entry") ;
  }
  uidls_close(&u) ;
  return 0 ;
}

 /* import: the other program's file is read whole before the UIDLs file
    is touched, so that a bad line changes nothing */

static int do_import (where const *w, int argc, char const *const *argv)
{
  stralloc in = STRALLOC_ZERO ;
  stralloc err = STRALLOC_ZERO ;
  uidls_set set = UIDLS_SET_ZERO ;
  size_t others = 0 ;
  uidls u ;
  int fetchmail = argc >= 2 && !strcmp(argv[0], "fetchmail") ;
  int e ;
  if (!(fetchmail ? argc <= 3 : argc == 2 && !strcmp(argv[0], "getmail"))) mpop_dieusage(USAGE) ;
  if (!w->host || !w->user) mpop_die(EX_USAGE, "no account: give -h host and -u user, or run under rcparse") ;
  if (!openslurpclose(&in, argv[1])) mpop_diesys(EX_IOERR, "cannot read ", argv[1]) ;
  if (fetchmail)
  {
    stralloc who = STRALLOC_ZERO ;
    if (argc == 3 ? !stralloc_cats(&who, argv[2])
     : !stralloc_cats(&who, w->user) || !stralloc_catb(&who, "@", 1) || !stralloc_cats(&who, w->host)) mpop_dienomem() ;
    if (!stralloc_0(&who)) mpop_dienomem() ;
    e = uidls_import_fetchmail(&set, argv[1], in.s, in.len, who.s, time(0), &others, &err) ;
    if (!e && !uidls_set_len(&set) && others) mpop_warn(argv[1], " has no UIDs for ", who.s) ;
    stralloc_free(&who) ;
  }
  else e = uidls_import_getmail(&set, argv[1], in.s, in.len, &err) ;
  if (e) die_err(e, &err) ;
  stralloc_free(&in) ;
  open_or_die(&u, w, 1, UIDLS_MKDIR) ;
  for (size_t i = 0 ; i < uidls_set_len(&set) ; i++)
    if (!uidls_set_add(uidls_self(&u), uidls_set_uid(&set, i), strlen(uidls_set_uid(&set, i)), uidls_set_ts(&set, i)))
      mpop_dienomem() ;
  e = uidls_commit(&u, 0, &err) ;
  if (e) die_err(e, &err) ;
  uidls_close(&u) ;
  uidls_set_free(&set) ;
  return 0 ;
}

 /* lock */

static int do_lock (where const *w, char const *const *argv)
{
  uidls u ;
  pid_t pid ;
  int wstat ;
  open_or_die(&u, w, 0, UIDLS_APPEND | UIDLS_MKDIR) ;
  pid = child_spawn0(argv[0], argv, (char const *const *)environ) ;
  if (!pid) mpop_diesys(EX_UNAVAILABLE, "cannot run ", argv[0]) ;
  if (wait_pid(pid, &wstat) < 0) mpop_diesys(EX_OSERR, "cannot wait for ", argv[0]) ;
  uidls_close(&u) ;
  return wait_estatus(wstat) ;
}

 /* Where: options, else the environment set by rcparse */

static void where_from_env (where *w)
{
  static account a ;
  stralloc err = STRALLOC_ZERO ;
  int e = account_from_env(&a, &err) ;
  if (e) die_err(e, &err) ;
  if (!w->file) w->file = account_get(&a, S_UIDLS_FILE) ;
  if (!w->host) w->host = account_get(&a, S_HOST) ? account_get(&a, S_HOST) : account_get(&a, S_SOCKET) ;
  if (!w->user) w->user = account_get(&a, S_USER) ;
  if (!w->file) mpop_die(EX_USAGE, "no UIDLs file: give -f file, or run under rcparse") ;
}

static int parse_list_args (int argc, char const *const *argv)
{
  subgetopt l = SUBGETOPT_ZERO ;
  int all = 0 ;
  for (;;)
  {
    int opt = subgetopt_r(argc, argv, "a", &l) ;
    if (opt == -1) break ;
    if (opt != 'a') mpop_dieusage(USAGE) ;
    all = 1 ;
  }
  if (l.ind < argc) mpop_dieusage(USAGE) ;
  return all ;
}

int main (int argc, char const *const *argv)
{
  where w = { .file = 0, .host = 0, .user = 0 } ;
  char const *cmd ;
  PROG = mpop_progname("uidlstore") ;
  {
    subgetopt l = SUBGETOPT_ZERO ;
    for (;;)
    {
      int opt = subgetopt_r(argc, argv, "f:h:u:", &l) ;
      if (opt == -1) break ;
      switch (opt)
      {
        case 'f' : w.file = l.arg ; break ;
        case 'h' : w.host = l.arg ; break ;
        case 'u' : w.user = l.arg ; break ;
        default : mpop_dieusage(USAGE) ;
      }
    }
    argc -= l.ind ; argv += l.ind ;
  }
  if (!argc) mpop_dieusage(USAGE) ;
  cmd = *argv++ ; argc-- ;
  where_from_env(&w) ;

  if (!strcmp(cmd, "list")) return do_list(&w, parse_list_args(argc + 1, argv - 1)) ;
  if (!strcmp(cmd, "import")) return do_import(&w, argc, argv) ;
  if (argc && strcmp(cmd, "lock")) mpop_dieusage(USAGE) ;
  if (!strcmp(cmd, "add")) return do_add(&w) ;
  if (!strcmp(cmd, "prune")) return do_prune(&w) ;
  if (!strcmp(cmd, "check")) return do_check(&w) ;
  if (!strcmp(cmd, "lock") && argc) return do_lock(&w, argv) ;
  mpop_dieusage(USAGE) ;
}
