/* ISC license. */

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>
#include <sys/wait.h>

#include <skalibs/allreadwrite.h>
#include <skalibs/buffer.h>
#include <skalibs/djbunix.h>
#include <skalibs/iopause.h>
#include <skalibs/stralloc.h>
#include <skalibs/tai.h>
#include <skalibs/types.h>

#include <mpop/envfrom.h>
#include <mpop/err.h>
#include <mpop/pop3.h>
#include <mpop/settings.h>
#include <mpop/shellchild.h>

#include "pop3fetch.h"
#include "filter.h"

#define FILTER_WINDOW 64              /* TOP commands in flight */
#define FILTER_HEADER_MAX (1 << 20)   /* header bytes kept per message */

char const *filter_command (session const *s)
{
  char const *f = s->a.v[S_FILTER] ;
  return f && *f ? f : 0 ;
}

static void nomem (session *s)
{
  session_die(s, EX_OSERR, "cannot allocate memory", 0) ;
}

static void die_cmd (session *s, int code, char const *a, char const *b, char const *c, char const *d)
{
  stralloc sa = STRALLOC_ZERO ;
  if (!stralloc_cats(&sa, a) || !stralloc_cats(&sa, b) || !stralloc_cats(&sa, c ? c : "")
   || !stralloc_cats(&sa, d ? d : "") || !stralloc_0(&sa)) nomem(s) ;
  session_die(s, code, sa.s, 0) ;
}

 /* mpop sends QUIT before giving up here */
static void require_top (session *s)
{
  if (!(s->p.caps & POP3_CAP_CAPA) || s->p.caps & POP3_CAP_TOP) return ;
  buffer_flush(s->out) ;
  s->connected = 0 ;
  if (pop3_quit(&s->p)) session_die_pop3(s) ;
  session_die(s, EX_UNAVAILABLE, "the POP3 server does not support the TOP command needed for filtering", 0) ;
}

 /* The header block: up to and including the first empty line, which is
    added when the server sent none. */
static void header_cut (session *s, stralloc *h)
{
  for (size_t i = 0 ; i < h->len ; i++)
    if (h->s[i] == '\n' && (!i || h->s[i-1] == '\n'))
    {
      h->len = i + 1 ;
      return ;
    }
  if (h->len && h->s[h->len - 1] != '\n' && !stralloc_catb(h, "\n", 1)) nomem(s) ;
  if (!stralloc_catb(h, "\n", 1)) nomem(s) ;
}

static void header_read (session *s, unsigned int i, stralloc *h)
{
  char buf[4096] ;
  int r = pop3_status(&s->p) ;
  if (r < 0) session_die_pop3(s) ;
  if (!r)
  {
    char fmt[UINT_FMT] ;
    stralloc sa = STRALLOC_ZERO ;
    fmt[uint_fmt(fmt, i + 1)] = 0 ;
    if (!stralloc_cats(&sa, "command TOP ") || !stralloc_cats(&sa, fmt) || !stralloc_cats(&sa, " 0 failed") || !stralloc_0(&sa)) nomem(s) ;
    pop3_fail(&s->p, EX_PROTOCOL, sa.s) ;
    session_die_pop3(s) ;
  }
  h->len = 0 ;
  pop3_body_start(&s->p) ;
  for (;;)
  {
    ssize_t k = pop3_body_read(&s->p, buf, sizeof(buf)) ;
    if (k < 0) session_die_pop3(s) ;
    if (!k) break ;
    if (h->len < FILTER_HEADER_MAX
     && !stralloc_catb(h, buf, (size_t)k < FILTER_HEADER_MAX - h->len ? (size_t)k : FILTER_HEADER_MAX - h->len)) nomem(s) ;
  }
  header_cut(s, h) ;
}

static void stop (pid_t pid)
{
  int wstat ;
  kill(-pid, SIGKILL) ;
  kill(pid, SIGKILL) ;
  waitpid_nointr(pid, &wstat, 0) ;
}

 /* Waits for fd to be writable (fd >= 0) or for a short while, or for a
    signal; dies at the deadline. */
static void pause_until (session *s, pid_t pid, int fd, tain const *deadline, char const *name)
{
  iopause_fd x[2] = { { .fd = abort_fd, .events = IOPAUSE_READ }, { .fd = fd, .events = IOPAUSE_WRITE } } ;
  tain t ;
  int r ;
  tain_from_millisecs(&t, 10) ;
  tain_add_g(&t, &t) ;
  if (fd >= 0 || tain_less(deadline, &t)) t = *deadline ;
  r = iopause_g(x, fd >= 0 ? 2 : 1, &t) ;
  if (r < 0 && errno != EINTR) mpop_diesys(EX_OSERR, "cannot wait for ", name) ;
  if (aborted)
  {
    stop(pid) ;
    session_die(s, EX_TEMPFAIL, "operation aborted", 0) ;
  }
  if (!tain_future(deadline))
  {
    stop(pid) ;
    die_cmd(s, EX_IOERR, name, " timed out", 0, 0) ;
  }
}

 /* Feeds the header to the filter, lets it go, and waits for it, all
    within the timeout setting. A filter that exits without reading
    everything is judged by its exit status. */
static int wait_filter (session *s, pid_t pid, int wfd, stralloc const *h, char const *name)
{
  tain deadline ;
  size_t w = 0 ;
  int wstat ;
  tain_now_g() ;
  tain_add_g(&deadline, &s->p.c.timeout) ;
  while (w < h->len)
  {
    ssize_t k = fd_write(wfd, h->s + w, h->len - w) ;
    if (k > 0) { w += k ; continue ; }
    if (k < 0 && errno == EPIPE) break ;
    if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
    {
      stop(pid) ;
      die_cmd(s, EX_IOERR, "cannot write to ", name, 0, 0) ;
    }
    pause_until(s, pid, wfd, &deadline, name) ;
  }
  fd_close(wfd) ;
  for (;;)
  {
    pid_t r = waitpid(pid, &wstat, WNOHANG) ;
    if (r == pid) break ;
    if (r < 0 && errno != EINTR) mpop_diesys(EX_OSERR, "cannot wait for ", name) ;
    pause_until(s, pid, -1, &deadline, name) ;
  }
  if (WIFSIGNALED(wstat))
  {
    char fmt[UINT_FMT] ;
    fmt[uint_fmt(fmt, WTERMSIG(wstat))] = 0 ;
    die_cmd(s, EX_IOERR, name, " failed to execute (killed by signal ", fmt, ")") ;
  }
  if (WEXITSTATUS(wstat) > 2)
  {
    char fmt[UINT_FMT] ;
    char const *sx = mpop_sysexits_name(WEXITSTATUS(wstat)) ;
    stralloc sa = STRALLOC_ZERO ;
    fmt[uint_fmt(fmt, WEXITSTATUS(wstat))] = 0 ;
    if (!stralloc_cats(&sa, fmt) || (sx && (!stralloc_cats(&sa, " (") || !stralloc_cats(&sa, sx) || !stralloc_cats(&sa, ")")))
     || !stralloc_0(&sa)) nomem(s) ;
    die_cmd(s, EX_IOERR, name, " returned exit status ", sa.s, 0) ;
  }
  return WEXITSTATUS(wstat) ;
}

 /* sh -c CMD with %F and %S substituted; stdout goes where our human
    output goes (never into the mpop-stream) */
static int run_filter (session *s, unsigned int i, stralloc const *h)
{
  char const *name = filter_command(s) ;
  char size[UINT64_FMT] ;
  stralloc from = STRALLOC_ZERO ;
  stralloc cmd = STRALLOC_ZERO ;
  int p[2] ;
  pid_t pid ;
  pid_t self = getpid() ;
  size[uint64_fmt(size, s->m[i].size)] = 0 ;
  if (!envfrom_get(&from, h->s, h->len) || !envfrom_subst(&cmd, name, from.s, size)) nomem(s) ;
  buffer_flush(s->out) ;
  if (pipecoe(p) < 0) mpop_diesys(EX_OSERR, "cannot create a pipe for ", name) ;
  pid = fork() ;
  if (pid < 0) mpop_diesys(EX_OSERR, "cannot run ", name) ;
  if (!pid) shellchild_exec(cmd.s, p[0], buffer_fd(s->out), self) ;
  setpgid(pid, pid) ;
  fd_close(p[0]) ;
  if (ndelay_on(p[1]) < 0) mpop_diesys(EX_OSERR, "cannot set up the pipe to ", name) ;
  stralloc_free(&from) ;
  stralloc_free(&cmd) ;
  return wait_filter(s, pid, p[1], h, name) ;
}

static void judge (session *s, unsigned int i, int verdict)
{
  if (!verdict) return ;
  s->m[i].flags &= ~M_RETR ;
  if (verdict == 1)
  {
    s->m[i].flags |= M_KILLED ;
    if (s->progress)
    {
      if (session_keeps(s, i)) out_policy(s, i, "skipping", "filter + keep") ;
      else out_policy(s, i, "deleting", "filter") ;
    }
  }
  else if (s->progress) out_policy(s, i, "skipping", "filter") ;
}

void session_filter (session *s)
{
  stralloc h = STRALLOC_ZERO ;
  unsigned int window = s->p.pipelining ? FILTER_WINDOW : 1 ;
  unsigned int i = 0 ;
  if (!filter_command(s) || !s->n) return ;
  if (aborted) session_die(s, EX_TEMPFAIL, "operation aborted", 0) ;
  require_top(s) ;
  while (i < s->n)
  {
    unsigned int sent[FILTER_WINDOW] ;
    unsigned int k = 0 ;
    for (; i < s->n && k < window ; i++)
    {
      if (!(s->m[i].flags & M_RETR)) continue ;
      char arg[UINT_FMT + 2] ;
      memcpy(arg + uint_fmt(arg, i + 1), " 0", 3) ;
      if (pop3_queue(&s->p, "TOP", arg)) session_die_pop3(s) ;
      sent[k++] = i ;
    }
    if (!k) break ;
    if (pop3_flush(&s->p)) session_die_pop3(s) ;
    for (unsigned int j = 0 ; j < k ; j++)
    {
      header_read(s, sent[j], &h) ;
      judge(s, sent[j], run_filter(s, sent[j], &h)) ;
    }
  }
  stralloc_free(&h) ;
}
