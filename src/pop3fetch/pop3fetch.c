/* ISC license. */

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <skalibs/allreadwrite.h>
#include <skalibs/buffer.h>
#include <skalibs/bytestr.h>
#include <skalibs/djbunix.h>
#include <skalibs/sgetopt.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/tai.h>
#include <skalibs/types.h>

#include <mpop/account.h>
#include <mpop/auth.h>
#include <mpop/err.h>
#include <mpop/pop3.h>
#include <mpop/settings.h>
#include <mpop/stream.h>
#include <mpop/uidls.h>

#include "pop3fetch.h"
#include "filter.h"

#define USAGE "pop3fetch [ -q | -Q ] [ -d ] [ -F ] [ -s | -A | -m ] [ deliverer argv... ]"


volatile sig_atomic_t aborted = 0 ;
int abort_fd = -1 ;
static int abort_wfd = -1 ;

 /* skalibs' iopause waits on after EINTR: a byte in a pipe wakes it */
static void on_abort (int sig)
{
  int e = errno ;
  (void)sig ;
  aborted = 1 ;
  if (write(abort_wfd, "", 1) < 0) errno = e ;
  errno = e ;
}

static void on_pipe (int sig)
{
  (void)sig ;
}

 /* SIGINT, SIGTERM, SIGHUP only set a flag, and interrupt blocking calls;
    SIGPIPE is caught (not ignored: the deliverer must get the default). */
static void signals_init (void)
{
  struct sigaction sa ;
  int p[2] ;
  if (pipe(p) < 0 || ndelay_on(p[0]) < 0 || ndelay_on(p[1]) < 0 || coe(p[0]) < 0 || coe(p[1]) < 0)
    mpop_diesys(EX_OSERR, "cannot create a pipe") ;
  abort_fd = p[0] ;
  abort_wfd = p[1] ;
  memset(&sa, 0, sizeof(sa)) ;
  sigemptyset(&sa.sa_mask) ;
  sa.sa_handler = &on_abort ;
  sa.sa_flags = 0 ;
  if (sigaction(SIGINT, &sa, 0) < 0 || sigaction(SIGTERM, &sa, 0) < 0 || sigaction(SIGHUP, &sa, 0) < 0)
    mpop_diesys(EX_OSERR, "cannot install signal handlers") ;
  sa.sa_handler = &on_pipe ;
  sa.sa_flags = SA_RESTART ;
  if (sigaction(SIGPIPE, &sa, 0) < 0) mpop_diesys(EX_OSERR, "cannot install signal handlers") ;
}

static void wipe_password (session *s)
{
  char *pw = s->a.v[S_PASSWORD] ;
  if (!pw) return ;
  byte_zzero(pw, strlen(pw)) ;
  free(pw) ;
  s->a.v[S_PASSWORD] = 0 ;
}

static char const *setting_value (session const *s, unsigned int i)
{
  return s->a.v[i] ? s->a.v[i] : settings_table[i].def ;
}

static int session_record (session *, int, stralloc *) ;

static char const *sa_str (stralloc *sa)
{
  if (!stralloc_0(sa)) return "" ;
  sa->len-- ;
  return mpop_sanitize(sa->s, sa->len) ;
}

void session_die (session *s, int code, char const *msg, char const *srvmsg)
{
  char const *file = getenv("MPOP_CONFIG_FILE") ;
  out_flush(s) ;
  if (s->connected) pop3_drop(&s->p) ;
  s->connected = 0 ;
  if (s->uidls_locked)
  {
    stralloc err = STRALLOC_ZERO ;
    int r = uidls_journal_sync(&s->u, &err) ;
    if (!r && s->late) r = session_record(s, 0, &err) ;
    if (r && err.len) mpop_warn(sa_str(&err)) ;
    stralloc_free(&err) ;
    uidls_close(&s->u) ;
  }
  if (aborted) msg = "operation aborted" ;
  if (msg && *msg) mpop_info(msg) ;
  if (srvmsg && *srvmsg) mpop_info("POP3 server message: ", srvmsg) ;
  if (s->a.name && file) mpop_info("error during mail retrieval (account ", s->a.name, " from ", file, ")") ;
  else mpop_info("error during mail retrieval") ;
  _exit(code ? code : EX_SOFTWARE) ;
}

void session_die_pop3 (session *s)
{
  int code = aborted ? EX_TEMPFAIL : s->p.code ;
  session_die(s, code, sa_str(&s->p.msg), sa_str(&s->p.srvmsg)) ;
}

static void checkpoint (session *s)
{
  if (aborted) session_die(s, EX_TEMPFAIL, "operation aborted", 0) ;
}

static int size_setting (session const *s, unsigned int i, uint64_t *size)
{
  char const *v = setting_value(s, i) ;
  unsigned long long n ;
  if (!v || !strcmp(v, "off")) return 0 ;
  if (!settings_number(v, &n)) mpop_die(EX_CONFIG, "invalid value ", v, " for ", settings_table[i].name) ;
  *size = n ;
  return 1 ;
}

static void session_init (session *s, unsigned int opts, char const *const *deliverer)
{
  stralloc err = STRALLOC_ZERO ;
  int r = account_from_env(&s->a, &err) ;
  auth_scrub_env() ;
  if (r)
  {
    if (r == EX_OSERR && !err.len) mpop_dienomem() ;
    mpop_die(r, sa_str(&err)) ;
  }
  s->opts = opts ;
  s->deliverer = deliverer && *deliverer ? deliverer : 0 ;
  s->start = time(0) ;
  s->host = s->a.v[S_HOST] ? s->a.v[S_HOST] : s->a.v[S_SOCKET] ;
  s->user = s->a.v[S_USER] ;
  if (!s->host) mpop_die(EX_CONFIG, "no host given (MPOP_HOST is not set)") ;
  if (!settings_keep(setting_value(s, S_KEEP), &s->keep)) mpop_die(EX_CONFIG, "invalid keep setting") ;
  s->only_new = settings_onoff(setting_value(s, S_ONLY_NEW)) ;
  s->haskill = size_setting(s, S_KILLSIZE, &s->killsize) ;
  s->hasskip = size_setting(s, S_SKIPSIZE, &s->skipsize) ;
  s->out = s->deliverer ? buffer_1 : buffer_2 ;
  s->tty = isatty(buffer_fd(s->out)) ;
  s->progress = !(opts & (OPT_QUIET | OPT_HALFQUIET | OPT_DEBUG)) ;
  if (opts & OPT_DEBUG) s->p.trace = s->deliverer ? &pop3_trace_stdout : &pop3_trace_stderr ;
  stralloc_free(&err) ;
}

 /* Pipe mode: the stream starts before anything can fail, so that a
    deliverer reading it never mistakes an early failure for an empty
    message. */
static void pipe_put (int (*put)(stralloc *))
{
  stralloc sa = STRALLOC_ZERO ;
  if (!(*put)(&sa)) mpop_dienomem() ;
  if (allwrite(1, sa.s, sa.len) < sa.len) mpop_diesys(EX_IOERR, "cannot write to stdout") ;
  stralloc_free(&sa) ;
}

 /* A server announcing EXPIRE 0 may delete what it gave us, whatever
    keep says (Gmail does) */
static void warn_expire (session const *s)
{
  if (s->keep && s->p.caps & POP3_CAP_EXPIRE && !s->p.expire)
    mpop_warn("the POP3 server announces EXPIRE 0: it may delete messages once retrieved, despite keep") ;
}

static void session_login (session *s)
{
  int r ;
  if (settings_onoff(setting_value(s, S_TLS)) && !settings_onoff(setting_value(s, S_TLS_CERTCHECK)))
    mpop_warn("TLS certificate verification is disabled (tls_certcheck off): the server is not authenticated") ;
  s->connected = 1 ;
  if (pop3_open(&s->p, &s->a, 0)) session_die_pop3(s) ;
  checkpoint(s) ;
  r = auth_login(&s->p) ;
  wipe_password(s) ;
  if (r) session_die_pop3(s) ;
  if (pop3_capa_after_login(&s->p, !!filter_command(s))) session_die_pop3(s) ;
  checkpoint(s) ;
}

 /* -s reads (never writes) the UIDLs file; pipe mode reads it and lets it
    go at once, so that "uidlstore add" at the end of the pipe can record;
    -m writes it in both modes. */
static void session_lock (session *s)
{
  stralloc err = STRALLOC_ZERO ;
  unsigned int flags = UIDLS_MKDIR ;
  char const *file = s->a.v[S_UIDLS_FILE] ;
  int r ;
  if (!file) session_die(s, EX_CONFIG, "no UIDLs file (MPOP_UIDLS_FILE is not set)", 0) ;
  if (s->opts & OPT_STATUS || (!s->deliverer && !(s->opts & OPT_ADOPT))) flags |= UIDLS_READONLY ;
  r = uidls_open(&s->u, file, s->host, s->user, s->start, flags, &err) ;
  if (r)
  {
    if (r == EX_OSERR && !err.len) session_die(s, r, "cannot allocate memory", 0) ;
    session_die(s, r, sa_str(&err), 0) ;
  }
  s->uidls_locked = 1 ;
  stralloc_free(&err) ;
}

static void session_unlock (session *s)
{
  if (!s->uidls_locked) return ;
  uidls_close(&s->u) ;
  s->uidls_locked = 0 ;
}

 /* DELE what was acked, killed, or seen before, when keep lets it go;
    pipelined in windows. */
static int wants_dele (session const *s, unsigned int i)
{
  unsigned int f = s->m[i].flags ;
  if (!(f & (M_ACKED | M_KILLED)) && !((f & M_OLD) && s->only_new && !(f & M_RETR))) return 0 ;
  return !session_keeps(s, i) ;
}

static void session_dele (session *s)
{
  unsigned int window = s->p.pipelining ? 256 : 1 ;
  unsigned int i = 0 ;
  while (i < s->n)
  {
    unsigned int sent[window] ;
    unsigned int k = 0 ;
    for (; i < s->n && k < window ; i++)
    {
      if (!wants_dele(s, i)) continue ;
      if (pop3_queue_num(&s->p, "DELE", i + 1)) session_die_pop3(s) ;
      sent[k++] = i ;
    }
    if (!k) break ;
    if (pop3_flush(&s->p)) session_die_pop3(s) ;
    for (unsigned int j = 0 ; j < k ; j++)
    {
      int r = pop3_status(&s->p) ;
      if (r < 0) session_die_pop3(s) ;
      if (!r)
      {
        char fmt[UINT_FMT] ;
        stralloc sa = STRALLOC_ZERO ;
        fmt[uint_fmt(fmt, sent[j] + 1)] = 0 ;
        if (!stralloc_cats(&sa, "command DELE ") || !stralloc_cats(&sa, fmt) || !stralloc_cats(&sa, " failed") || !stralloc_0(&sa)) mpop_dienomem() ;
        pop3_fail(&s->p, EX_PROTOCOL, sa.s) ;
        session_die_pop3(s) ;
      }
      s->m[sent[j]].flags |= M_DELE ;
    }
    if (aborted) session_die(s, EX_IOERR, "operation aborted", 0) ;
  }
}

 /* This account's list becomes the UIDs still on the server that we know
    (old, delivered, killed), with their first-seen times; after +OK to
    QUIT, without those deleted. The journal is folded into the file.
    0 or a sysexits code, the message in err. */
static int session_record (session *s, int quit, stralloc *err)
{
  uidls_set mine = UIDLS_SET_ZERO ;
  int r ;
  s->late = 0 ;
  for (unsigned int i = 0 ; i < s->n ; i++)
  {
    msg const *m = s->m + i ;
    char const *uid = session_uid(s, i) ;
    int64_t ts ;
    if (!uid || (quit && m->flags & M_DELE)) continue ;
    if (m->flags & M_OLD) ts = m->ts ;
    else if (m->flags & (M_ACKED | M_KILLED | M_ADOPTED)) ts = s->start ;
    else continue ;
    if (!uidls_set_add(&mine, uid, strlen(uid), ts)) mpop_dienomem() ;
  }
  r = uidls_commit(&s->u, &mine, err) ;
  uidls_set_free(&mine) ;
  return r ;
}

static void session_commit (session *s)
{
  stralloc err = STRALLOC_ZERO ;
  int r ;
  if (!s->n && s->keep == ULLONG_MAX) return ;
  r = session_record(s, 1, &err) ;
  if (r)
  {
    if (r == EX_OSERR && !err.len) mpop_dienomem() ;
    session_die(s, r, sa_str(&err), 0) ;
  }
  stralloc_free(&err) ;
}

static void session_free (session *s)
{
  pop3_free(&s->p) ;
  account_free(&s->a) ;
  free(s->m) ;
  stralloc_free(&s->uids) ;
  stralloc_free(&s->received) ;
}

static void session_quit (session *s)
{
  checkpoint(s) ;
  s->connected = 0 ;
  if (pop3_quit(&s->p)) session_die_pop3(s) ;
}

 /* -A, -s, and a poll that found nothing new: nothing retrieved,
    nothing written */
static int session_end (session *s)
{
  session_unlock(s) ;
  session_quit(s) ;
  if (!s->deliverer) pipe_put(&mpopstream_put_trailer) ;
  session_free(s) ;
  return 0 ;
}

 /* -m: the new messages are recorded as retrieved, now, without RETR or
    DELE; known ones keep their first-seen times. The lock is held since
    before UIDL, so nothing that a concurrent session records is lost. */
static int session_adopt (session *s)
{
  unsigned int marked = 0, nouid = 0 ;
  if (s->nouidl)
  {
    out_flush(s) ;
    session_quit(s) ;
    session_die(s, EX_UNAVAILABLE, "the POP3 server does not support UIDL: its messages cannot be marked as retrieved", 0) ;
  }
  for (unsigned int i = 0 ; i < s->n ; i++)
  {
    if (s->m[i].flags & M_OLD) continue ;
    if (!session_recordable(s, i)) { nouid++ ; continue ; }
    s->m[i].flags |= M_ADOPTED ;
    marked++ ;
  }
  s->keep = ULLONG_MAX ;
  session_quit(s) ;
  session_commit(s) ;
  session_unlock(s) ;
  if (!(s->opts & OPT_QUIET)) out_adopted(s, marked, nouid) ;
  if (!s->deliverer) pipe_put(&mpopstream_put_trailer) ;
  session_free(s) ;
  return 0 ;
}

int main (int argc, char const *const *argv)
{
  session s = { .a = { 0 }, .p = POP3_ZERO, .u = UIDLS_ZERO, .uidls_locked = 0, .m = 0, .uids = STRALLOC_ZERO, .received = STRALLOC_ZERO } ;
  unsigned int opts = 0 ;
  PROG = mpop_progname("pop3fetch") ;
  {
    subgetopt l = SUBGETOPT_ZERO ;
    for (;;)
    {
      int opt = subgetopt_r(argc, argv, "qQdFsAm", &l) ;
      if (opt == -1) break ;
      switch (opt)
      {
        case 'q' : opts = (opts & ~OPT_HALFQUIET) | OPT_QUIET ; break ;
        case 'Q' : opts = (opts & ~OPT_QUIET) | OPT_HALFQUIET ; break ;
        case 'd' : opts |= OPT_DEBUG ; break ;
        case 'F' : opts |= OPT_FULLUIDL ; break ;
        case 's' : opts |= OPT_STATUS ; break ;
        case 'A' : opts |= OPT_AUTHONLY ; break ;
        case 'm' : opts |= OPT_ADOPT ; break ;
        default : mpop_dieusage(USAGE) ;
      }
    }
    argc -= l.ind ; argv += l.ind ;
  }
  if (!!(opts & OPT_STATUS) + !!(opts & OPT_AUTHONLY) + !!(opts & OPT_ADOPT) > 1) mpop_dieusage(USAGE) ;

  signals_init() ;
  tain_now_set_stopwatch_g() ;
  session_init(&s, opts, argv) ;
  if (!s.deliverer) pipe_put(&mpopstream_put_banner) ;

  session_login(&s) ;
  if (opts & OPT_AUTHONLY) return session_end(&s) ;
  warn_expire(&s) ;

  session_stat(&s, &session_lock) ;
  if (session_quick(&s))
  {
    if (!(opts & OPT_QUIET)) out_status(&s) ;
    return session_end(&s) ;
  }
  session_list(&s) ;
  checkpoint(&s) ;
  session_uidl(&s) ;
  session_decide(&s) ;
  if (!(opts & OPT_QUIET)) out_status(&s) ;
  if (opts & OPT_STATUS) return session_end(&s) ;
  if (opts & OPT_ADOPT) return session_adopt(&s) ;
  if (!s.deliverer) session_unlock(&s) ;
  session_policy(&s) ;
  checkpoint(&s) ;

  s.late = 1 ;
  session_retrieve(&s) ;
  session_dele(&s) ;
  session_quit(&s) ;
  if (s.deliverer) session_commit(&s) ;
  session_unlock(&s) ;
  session_free(&s) ;
  return 0 ;
}
