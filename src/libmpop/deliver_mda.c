/* ISC license. */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>
#include <sys/wait.h>
#ifdef __linux__
#endif

#include <skalibs/djbunix.h>
#include <skalibs/sig.h>
#include <skalibs/stralloc.h>
#include <skalibs/types.h>

#include <mpop/deliver.h>
#include <mpop/envfrom.h>
#include <mpop/err.h>
#include <mpop/shellchild.h>
#include "deliver-internal.h"

 /* mda CMD: "/bin/sh -c CMD" per message, %F replaced by the sanitised
    envelope sender, the message on its stdin, its stdout on our stderr. */

static void mda_abort (deliver *) ;

static int mda_open (deliver *d, stralloc *err)
{
  if (!stralloc_copy(&d->path, &d->arg)) return deliver_nomem(err) ;
  sig_ignore(SIGPIPE) ;
  return 0 ;
}

static int mda_begin (deliver *d, char const *sender, stralloc *err)
{
  stralloc cmd = STRALLOC_ZERO ;
  pid_t parent = getpid() ;
  int p[2] ;
  if (!envfrom_subst(&cmd, d->arg.s, sender, 0)) return deliver_nomem(err) ;
  if (pipecoe(p) < 0)
  {
    stralloc_free(&cmd) ;
    return deliver_err(err, EX_OSERR, errno, "cannot create a pipe for ", d->arg.s) ;
  }
  d->pid = fork() ;
  if (d->pid < 0)
  {
    int e = errno ;
    fd_close(p[0]) ; fd_close(p[1]) ;
    stralloc_free(&cmd) ;
    d->pid = 0 ;
    return deliver_err(err, EX_OSERR, e, "cannot run ", d->arg.s) ;
  }
  if (!d->pid) shellchild_exec(cmd.s, p[0], 2, parent) ;
  setpgid(d->pid, d->pid) ;
  stralloc_free(&cmd) ;
  fd_close(p[0]) ;
  d->fd = p[1] ;
  if (ndelay_on(d->fd) < 0)
  {
    int e = errno ;
    mda_abort(d) ;
    return deliver_err(err, EX_OSERR, e, "cannot set up the pipe to ", d->arg.s) ;
  }
  return 0 ;
}

size_t deliver_mda_write (deliver *d, char const *s, size_t len)
{
  unsigned int secs = d->timeout ? d->timeout : DELIVER_TIMEOUT ;
  size_t w = 0 ;
  while (w < len)
  {
    struct pollfd x = { .fd = d->fd, .events = POLLOUT, .revents = 0 } ;
    ssize_t r = write(d->fd, s + w, len - w) ;
    if (r > 0) { w += r ; continue ; }
    if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) break ;
    r = poll(&x, 1, secs > 2000000 ? -1 : (int)(secs * 1000)) ;
    if (r < 0 && errno != EINTR) break ;
    if (!r) { errno = ETIMEDOUT ; break ; }
  }
  return w ;
}

static int reap (deliver *d, int *wstat)
{
  pid_t r ;
  do r = waitpid(d->pid, wstat, 0) ;
  while (r < 0 && errno == EINTR) ;
  d->pid = 0 ;
  return r > 0 ;
}

 /* Waits for the MDA without reaping it first: when it failed, the rest of
    its process group is killed while the group still exists, so that no
    survivor (e.g. the command a killed shell was running) delivers a
    message reported as failed */
static int wait_mda (deliver *d, int *wstat)
{
  siginfo_t si ;
  int r ;
  do r = waitid(P_PID, d->pid, &si, WEXITED | WNOWAIT) ;
  while (r < 0 && errno == EINTR) ;
  if (r == 0 && (si.si_code != CLD_EXITED || si.si_status)) kill(-d->pid, SIGKILL) ;
  return reap(d, wstat) ;
}

static int mda_commit (deliver *d, stralloc *err)
{
  char fmt[UINT_FMT] ;
  int wstat ;
  int r = deliver_flush(d, err) ;
  if (r) return r ;
  fd_close(d->fd) ;
  d->fd = -1 ;
  if (!wait_mda(d, &wstat)) return deliver_err(err, EX_OSERR, errno, "cannot wait for ", d->arg.s) ;
  if (WIFSIGNALED(wstat))
  {
    fmt[uint_fmt(fmt, WTERMSIG(wstat))] = 0 ;
    return deliver_err(err, EX_IOERR, 0, d->arg.s, " failed to execute (killed by signal ", fmt, ")") ;
  }
  if (WEXITSTATUS(wstat))
  {
    int e = WEXITSTATUS(wstat) ;
    char const *name = mpop_sysexits_name(e) ;
    fmt[uint_fmt(fmt, e)] = 0 ;
    return deliver_err(err, e == EX_TEMPFAIL ? EX_TEMPFAIL : EX_IOERR, 0, d->arg.s, " returned exit status ", fmt, name ? " (" : 0, name, name ? ")" : 0) ;
  }
  if (d->epipe) return deliver_err(err, EX_IOERR, 0, d->arg.s, " did not read mail data") ;
  return 0 ;
}

static void mda_abort (deliver *d)
{
  int wstat ;
  if (d->pid > 0)
  {
    kill(-d->pid, SIGKILL) ;
    kill(d->pid, SIGKILL) ;
  }
  if (d->fd >= 0) { fd_close(d->fd) ; d->fd = -1 ; }
  if (d->pid > 0) reap(d, &wstat) ;
}

static int mda_sync (deliver *d, stralloc *err)
{
  (void)d ;
  (void)err ;
  return 0 ;
}

static void mda_close (deliver *d)
{
  (void)d ;
}

deliver_ops const deliver_mda_ops =
{
  .open = &mda_open,
  .begin = &mda_begin,
  .commit = &mda_commit,
  .abort = &mda_abort,
  .sync = &mda_sync,
  .close = &mda_close
} ;
