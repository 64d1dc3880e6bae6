/* ISC license. */

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>
#include <skalibs/error.h>
#include <skalibs/iopause.h>
#include <skalibs/selfpipe.h>
#include <skalibs/sgetopt.h>
#include <skalibs/sig.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/tai.h>
#include <skalibs/types.h>

#include <mpop/binpath.h>
#include <mpop/err.h>

#define USAGE "mpoploop [ -C file ] [ -i interval ] [ -b backoff-max ] [ -l login-delay ] [ -p mpop ] [ -q ] [ -n count ] account"
#define PROBE_MAX 65536

extern char **environ ;

typedef struct loop_s loop, *loop_ref ;
struct loop_s
{
  char const *account ;
  char const *mpop ;
  char const *file ;
  char const *quiet ;
  unsigned int interval ;     /* between polls, at least logindelay */
  unsigned int backoffmax ;
  unsigned int logindelay ;   /* the server's LOGIN-DELAY */
  int probe ;                 /* learn logindelay from mpop -S */
  unsigned int failures ;     /* in a row, reset by a success */
  int sfd ;                   /* the selfpipe */
  int stop ;                  /* SIGTERM or SIGINT arrived */
  int hup ;                   /* SIGHUP arrived: poll at once */
} ;
#define LOOP_ZERO { .account = 0, .mpop = 0, .file = 0, .quiet = "-Q", .interval = 300, .backoffmax = 3600, .logindelay = 0, .probe = 1, .failures = 0, .sfd = -1, .stop = 0, .hup = 0 }

#define say(l, ...) strerr_warn(PROG, ": ", (l)->account, ": ", __VA_ARGS__)

 /* Signals and time */

static void take_signals (loop *l)
{
  for (;;)
  {
    int sig = selfpipe_read() ;
    if (sig < 0) mpop_diesys(EX_OSERR, "cannot read the selfpipe") ;
    if (!sig) break ;
    if (sig == SIGTERM || sig == SIGINT) l->stop = 1 ;
    else if (sig == SIGHUP) l->hup = 1 ;
  }
}

 /* Waits until deadline (0: forever) or a signal; 1 if fd became readable */
static int pause_until (loop *l, int fd, tain const *deadline)
{
  iopause_fd x[2] = { { .fd = l->sfd, .events = IOPAUSE_READ }, { .fd = fd, .events = IOPAUSE_READ } } ;
  int r = iopause_g(x, 1 + (fd >= 0), deadline) ;
  if (r < 0) mpop_diesys(EX_OSERR, "iopause") ;
  if (x[0].revents & IOPAUSE_READ) take_signals(l) ;
  return fd >= 0 && x[1].revents & (IOPAUSE_READ | IOPAUSE_EXCEPT) ;
}

 /* 1 when it is time to poll, 0 when told to stop */
static int snooze (loop *l, unsigned int secs)
{
  tain deadline ;
  tain_now_g() ;
  tain_addsec_g(&deadline, secs) ;
  while (!l->stop && !l->hup)
  {
    tain_now_g() ;
    if (!tain_less(&STAMP, &deadline)) break ;
    pause_until(l, -1, &deadline) ;
  }
  if (l->stop) return 0 ;
  if (l->hup) say(l, "SIGHUP: polling now") ;
  l->hup = 0 ;
  return 1 ;
}

 /* Running mpop: in its own process group, so that a stop request reaches
    the whole chain (mpop, pop3fetch, the deliverer) */

static pid_t spawn (char const *const *argv, int fdout)
{
  posix_spawnattr_t attr ;
  posix_spawn_file_actions_t actions ;
  sigset_t set ;
  pid_t pid ;
  int e ;
  if (posix_spawnattr_init(&attr) || posix_spawn_file_actions_init(&actions)) mpop_dienomem() ;
  sigemptyset(&set) ;
  posix_spawnattr_setsigmask(&attr, &set) ;
  sigaddset(&set, SIGTERM) ; sigaddset(&set, SIGINT) ; sigaddset(&set, SIGHUP) ;
  sigaddset(&set, SIGCHLD) ; sigaddset(&set, SIGPIPE) ;
  posix_spawnattr_setsigdefault(&attr, &set) ;
  posix_spawnattr_setpgroup(&attr, 0) ;
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF) ;
  if (fdout >= 0 && posix_spawn_file_actions_adddup2(&actions, fdout, 1)) mpop_dienomem() ;
  e = posix_spawnp(&pid, argv[0], &actions, &attr, (char *const *)argv, environ) ;
  posix_spawn_file_actions_destroy(&actions) ;
  posix_spawnattr_destroy(&attr) ;
  if (e) { errno = e ; return 0 ; }
  return pid ;
}

static void keep_output (int *fd, stralloc *out)
{
  char buf[4096] ;
  ssize_t r = fd_read(*fd, buf, sizeof buf) ;
  if (r < 0 && error_isagain(errno)) return ;
  if (r <= 0) { fd_close(*fd) ; *fd = -1 ; return ; }
  if (out->len + r <= PROBE_MAX && !stralloc_catb(out, buf, r)) mpop_dienomem() ;
}

 /* Runs argv, its output kept in out (when out is not 0); returns the wait
    status, or -1 if it cannot be run. */
static int run (loop *l, char const *const *argv, stralloc *out)
{
  int p[2] = { -1, -1 } ;
  int killed = 0 ;
  pid_t pid ;
  if (out && pipenbcoe(p) < 0) mpop_diesys(EX_OSERR, "cannot create a pipe") ;
  pid = spawn(argv, p[1]) ;
  if (p[1] >= 0) fd_close(p[1]) ;
  if (!pid)
  {
    mpop_warnsys("cannot run ", argv[0]) ;
    if (p[0] >= 0) fd_close(p[0]) ;
    return -1 ;
  }
  for (;;)
  {
    int wstat ;
    pid_t r = wait_pid_nohang(pid, &wstat) ;
    if (r < 0) mpop_diesys(EX_OSERR, "cannot wait for ", argv[0]) ;
    if (r == pid)
    {
      if (p[0] >= 0) keep_output(&p[0], out) ;
      if (p[0] >= 0) fd_close(p[0]) ;
      return wstat ;
    }
    if (l->stop && !killed)
    {
      say(l, "stopping: sending SIGTERM to ", argv[0]) ;
      kill(-pid, SIGTERM) ;
      kill(-pid, SIGCONT) ;
      killed = 1 ;
    }
    if (pause_until(l, p[0], 0)) keep_output(&p[0], out) ;
  }
}

 /* The server's LOGIN-DELAY, as mpop -S prints it: the largest one shown */

static unsigned int login_delay_of (stralloc const *out)
{
  unsigned int max = 0 ;
  size_t i = 0 ;
  while (i < out->len)
  {
    char const *nl = memchr(out->s + i, '\n', out->len - i) ;
    size_t end = nl ? (size_t)(nl - out->s) : out->len ;
    size_t j = i ;
    unsigned int n ;
    while (j < end && (out->s[j] == ' ' || out->s[j] == '\t')) j++ ;
    if (end - j > 12 && !memcmp(out->s + j, "LOGIN-DELAY ", 12)
     && uint_scan(out->s + j + 12, &n) && n > max) max = n ;
    i = end + 1 ;
  }
  return max ;
}

static unsigned int probe (loop *l)
{
  stralloc out = STRALLOC_ZERO ;
  char const *argv[6] ;
  unsigned int n = 0, delay = 0 ;
  int wstat ;
  argv[n++] = l->mpop ;
  if (l->file) { argv[n++] = "-C" ; argv[n++] = l->file ; }
  argv[n++] = "-S" ;
  argv[n++] = l->account ;
  argv[n] = 0 ;
  wstat = run(l, argv, &out) ;
  if (wstat >= 0 && WIFEXITED(wstat) && !WEXITSTATUS(wstat)) delay = login_delay_of(&out) ;
  else if (!l->stop) say(l, "mpop -S failed: the server's LOGIN-DELAY is unknown") ;
  stralloc_free(&out) ;
  return delay ;
}

 /* One poll, and what it means for the next one */

static int poll_once (loop *l)
{
  char const *argv[6] ;
  unsigned int n = 0 ;
  argv[n++] = l->mpop ;
  argv[n++] = l->quiet ;
  if (l->file) { argv[n++] = "-C" ; argv[n++] = l->file ; }
  argv[n++] = l->account ;
  argv[n] = 0 ;
  return run(l, argv, 0) ;
}

static int code_of (int wstat)
{
  if (wstat < 0) return EX_UNAVAILABLE ;
  return WIFSIGNALED(wstat) ? 128 + WTERMSIG(wstat) : WEXITSTATUS(wstat) ;
}

static char const *meaning (int code)
{
  switch (code)
  {
    case 0 : return " (success)" ;
    case EX_USAGE : return " (usage error)" ;
    case EX_CONFIG : return " (configuration error)" ;
    case EX_TEMPFAIL : return " (temporary failure)" ;
    case EX_NOPERM : return " (authentication failed)" ;
    case EX_UNAVAILABLE : return " (service unavailable)" ;
    case EX_PROTOCOL : return " (protocol error)" ;
    case EX_IOERR : return " (input/output error)" ;
    case EX_DATAERR : return " (data error)" ;
    default : return "" ;
  }
}

static unsigned int backoff (loop const *l)
{
  unsigned int delay = l->interval ;
  for (unsigned int i = 0 ; i < l->failures && delay < l->backoffmax ; i++)
    delay = delay > l->backoffmax / 2 ? l->backoffmax : delay * 2 ;
  return delay < l->backoffmax ? delay : l->backoffmax ;
}

 /* Success and temporary failures: the interval. Usage and configuration
    errors: the longest wait, they need a human. Anything else (a refused
    login above all): twice the previous wait, up to the longest. */
static unsigned int next_delay (loop *l, int code)
{
  switch (code)
  {
    case 0 : l->failures = 0 ; return l->interval ;
    case EX_TEMPFAIL : return l->interval ;
    case EX_USAGE :
    case EX_CONFIG : return l->backoffmax ;
    default : l->failures++ ; return backoff(l) ;
  }
}

static void report (loop const *l, int wstat, unsigned int delay, int last)
{
  stralloc sa = STRALLOC_ZERO ;
  char fmt[UINT_FMT] ;
  int code = code_of(wstat) ;
  int ok ;
  if (wstat < 0) ok = stralloc_cats(&sa, "could not be run") ;
  else if (WIFSIGNALED(wstat)) ok = stralloc_cats(&sa, "killed by signal SIG") && stralloc_cats(&sa, sig_name(WTERMSIG(wstat))) ;
  else ok = stralloc_cats(&sa, "exited ") && stralloc_catb(&sa, fmt, uint_fmt(fmt, code)) && stralloc_cats(&sa, meaning(code)) ;
  if (!l->stop && (code == EX_USAGE || code == EX_CONFIG)) ok = ok && stralloc_cats(&sa, ", fix it then send SIGHUP") ;
  else if (!l->stop && l->failures && code && code != EX_TEMPFAIL)
    ok = ok && stralloc_cats(&sa, ", ") && stralloc_catb(&sa, fmt, uint_fmt(fmt, l->failures))
      && stralloc_cats(&sa, l->failures > 1 ? " failures in a row" : " failure in a row") ;
  if (last) ok = ok && stralloc_cats(&sa, ": no more polls") ;
  else ok = ok && stralloc_cats(&sa, ": next poll in ") && stralloc_catb(&sa, fmt, uint_fmt(fmt, delay)) && stralloc_cats(&sa, " seconds") ;
  if (!ok || !stralloc_0(&sa)) mpop_dienomem() ;
  strerr_warn(PROG, ": ", l->account, ": mpop ", sa.s) ;
  stralloc_free(&sa) ;
}

 /* Setup */

static unsigned int seconds (char const *s)
{
  unsigned int n ;
  if (!uint0_scan(s, &n)) mpop_dieusage(USAGE) ;
  return n ;
}

static void trap_signals (loop *l)
{
  sigset_t set ;
  l->sfd = selfpipe_init() ;
  if (l->sfd < 0) mpop_diesys(EX_OSERR, "cannot create the selfpipe") ;
  sigemptyset(&set) ;
  sigaddset(&set, SIGTERM) ; sigaddset(&set, SIGINT) ;
  sigaddset(&set, SIGHUP) ; sigaddset(&set, SIGCHLD) ;
  if (!selfpipe_trapset(&set)) mpop_diesys(EX_OSERR, "cannot trap signals") ;
}

static void announce (loop const *l)
{
  char fi[UINT_FMT] ;
  char fd[UINT_FMT] ;
  fi[uint_fmt(fi, l->interval)] = 0 ;
  fd[uint_fmt(fd, l->logindelay)] = 0 ;
  if (l->logindelay) say(l, "the server's LOGIN-DELAY is ", fd, l->probe ? " seconds (from mpop -S)" : " seconds") ;
  say(l, "polling every ", fi, " seconds") ;
  if (l->probe && l->logindelay) say(l, "first poll in ", fd, " seconds (mpop -S logged in)") ;
}

static void parse_options (loop *l, unsigned int *count, int *argc, char const *const **argv)
{
  subgetopt o = SUBGETOPT_ZERO ;
  for (;;)
  {
    int opt = subgetopt_r(*argc, *argv, "C:i:b:l:p:qn:", &o) ;
    if (opt == -1) break ;
    switch (opt)
    {
      case 'C' : l->file = o.arg ; break ;
      case 'i' : l->interval = seconds(o.arg) ; break ;
      case 'b' : l->backoffmax = seconds(o.arg) ; break ;
      case 'l' : l->logindelay = seconds(o.arg) ; l->probe = 0 ; break ;
      case 'p' : l->mpop = o.arg ; break ;
      case 'q' : l->quiet = "-q" ; break ;
      case 'n' : *count = seconds(o.arg) ; break ;
      default : mpop_dieusage(USAGE) ;
    }
  }
  *argc -= o.ind ; *argv += o.ind ;
}

int main (int argc, char const *const *argv)
{
  loop l = LOOP_ZERO ;
  stralloc mpop = STRALLOC_ZERO ;
  char const *argv0 = argv[0] ;
  unsigned int count = 0 ;
  int code = 0 ;
  PROG = mpop_progname("mpoploop") ;
  parse_options(&l, &count, &argc, &argv) ;
  if (argc != 1) mpop_dieusage(USAGE) ;
  l.account = argv[0] ;
  if (!l.mpop)
  {
    if (!mpop_binpath(&mpop, argv0, "mpop")) mpop_dienomem() ;
    l.mpop = mpop.s ;
  }
  trap_signals(&l) ;
  tain_now_set_stopwatch_g() ;

  if (l.probe) l.logindelay = probe(&l) ;
  if (l.interval < l.logindelay) l.interval = l.logindelay ;
  if (l.backoffmax < l.interval) l.backoffmax = l.interval ;
  announce(&l) ;
  if (l.probe && l.logindelay) snooze(&l, l.logindelay) ;
  for (unsigned int n = 1 ; !l.stop ; n++)
  {
    int wstat = poll_once(&l) ;
    int last = l.stop || (count && n >= count) ;
    unsigned int delay ;
    code = code_of(wstat) ;
    delay = l.stop ? 0 : next_delay(&l, code) ;
    report(&l, wstat, delay, last) ;
    if (last || !snooze(&l, delay)) break ;
  }
  if (l.stop) say(&l, "stopping") ;
  stralloc_free(&mpop) ;
  return l.stop ? 0 : code ;
}
