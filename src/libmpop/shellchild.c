/* ISC license. */

#include <errno.h>
#include <signal.h>
#include <sysexits.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <mpop/shellchild.h>

void shellchild_exec (char const *cmd, int rfd, int outfd, pid_t parent)
{
  sigset_t set ;
  setpgid(0, 0) ;
#ifdef PR_SET_PDEATHSIG
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) _exit(EX_OSERR) ;
#endif
  if (getppid() != parent) _exit(EX_TEMPFAIL) ;
  sigemptyset(&set) ;
  sigprocmask(SIG_SETMASK, &set, 0) ;
  signal(SIGPIPE, SIG_DFL) ;
  signal(SIGXFSZ, SIG_DFL) ;
  if (rfd != 0 && (dup2(rfd, 0) < 0 || close(rfd) < 0)) _exit(EX_OSERR) ;
  if (outfd != 1 && dup2(outfd, 1) < 0) _exit(EX_OSERR) ;
  execl("/bin/sh", "sh", "-c", cmd, (char *)0) ;
  _exit(errno == ENOENT ? 127 : 126) ;
}
