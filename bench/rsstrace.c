/* ISC license. */

 /*
   rsstrace -o FILE prog [args...]

   Runs prog and records the peak resident set size (VmHWM) of every
   program image that runs in its process tree: an image ends when its
   process calls execve (the old image is read just before the kernel
   replaces it) or exits (read in the exit stop, before the memory is
   released). Only execve, execveat, fork/clone and exit stop the
   tracees (a seccomp filter traps the exec calls), so the traced
   programs run at full speed otherwise.

   FILE gets one line per image: "VmHWM-in-kB TAB pid TAB executable".
   The copy of rsstrace that execs prog is not listed, nor the short
   lived copies of a parent made by fork or vfork before they exec.
   Exits with prog's exit code (128+signal when killed).
 */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include <skalibs/allreadwrite.h>
#include <skalibs/buffer.h>
#include <skalibs/djbunix.h>
#include <skalibs/sgetopt.h>
#include <skalibs/strerr.h>
#include <skalibs/types.h>

#define USAGE "rsstrace -o file prog [args...]"
#define dieusage() strerr_dieusage(EX_USAGE, USAGE)

#if defined(__x86_64__)
# define THIS_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
# define THIS_ARCH AUDIT_ARCH_AARCH64
#else
# error "rsstrace: unknown architecture for the seccomp filter"
#endif

#define MAXPROCS 4096
#define EXELEN 512

typedef struct proc_s proc, *proc_ref ;
struct proc_s
{
  pid_t pid ;
  unsigned int fresh : 1 ;   /* its initial SIGSTOP is still to come */
  unsigned int execd : 1 ;   /* its current image was loaded by execve */
  unsigned int sharedvm : 1 ; /* a vfork child that has not exec'd yet */
  unsigned int pending : 1 ;  /* hwm/exe were read at an execve entry */
  unsigned long hwm ;
  char exe[EXELEN] ;
} ;

static proc procs[MAXPROCS] ;
static char outbuf[4096] ;
static buffer out ;

static proc *proc_find (pid_t pid)
{
  for (unsigned int i = 0 ; i < MAXPROCS ; i++) if (procs[i].pid == pid) return procs + i ;
  return 0 ;
}

static proc *proc_new (pid_t pid)
{
  proc *p = proc_find(pid) ;
  if (p) return p ;
  p = proc_find(0) ;
  if (!p) strerr_dief1x(EX_SOFTWARE, "too many traced processes") ;
  memset(p, 0, sizeof(proc)) ;
  p->pid = pid ;
  p->fresh = 1 ;
  return p ;
}

static int read_hwm (pid_t pid, unsigned long *hwm, char *exe)
{
  char path[64] ;
  char buf[4096] ;
  char *s ;
  size_t n = 6 ;
  ssize_t r ;
  int fd ;
  memcpy(path, "/proc/", 6) ;
  n += pid_fmt(path + n, pid) ;
  memcpy(path + n, "/status", 8) ;
  fd = open_readb(path) ;
  if (fd < 0) return 0 ;
  r = allread(fd, buf, sizeof(buf) - 1) ;
  fd_close(fd) ;
  if (r <= 0) return 0 ;
  buf[r] = 0 ;
  s = strstr(buf, "\nVmHWM:") ;
  if (!s) return 0 ;
  s += 7 ;
  while (*s == ' ' || *s == '\t') s++ ;
  if (!ulong_scan(s, hwm)) return 0 ;
  memcpy(path + n, "/exe", 5) ;
  r = readlink(path, exe, EXELEN - 1) ;
  if (r < 0) r = 0 ;
  exe[r] = 0 ;
  return 1 ;
}

static int is_thread (pid_t pid)
{
  char path[64] ;
  char buf[4096] ;
  char *s ;
  size_t n = 6 ;
  ssize_t r ;
  pid_t tgid ;
  int fd ;
  memcpy(path, "/proc/", 6) ;
  n += pid_fmt(path + n, pid) ;
  memcpy(path + n, "/status", 8) ;
  fd = open_readb(path) ;
  if (fd < 0) return 0 ;
  r = allread(fd, buf, sizeof(buf) - 1) ;
  fd_close(fd) ;
  if (r <= 0) return 0 ;
  buf[r] = 0 ;
  s = strstr(buf, "\nTgid:") ;
  if (!s) return 0 ;
  s += 6 ;
  while (*s == ' ' || *s == '\t') s++ ;
  return pid_scan(s, &tgid) && tgid != pid ;
}

static void emit (pid_t pid, unsigned long hwm, char const *exe)
{
  char fmt[ULONG_FMT] ;
  buffer_put(&out, fmt, ulong_fmt(fmt, hwm)) ;
  buffer_put(&out, "\t", 1) ;
  buffer_put(&out, fmt, pid_fmt(fmt, pid)) ;
  buffer_put(&out, "\t", 1) ;
  buffer_puts(&out, *exe ? exe : "?") ;
  if (buffer_put(&out, "\n", 1) < 0) strerr_diefu1sys(EX_IOERR, "write output") ;
}

static void child (char const *const *argv)
{
  struct sock_filter f[] =
  {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, THIS_ARCH, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_execve, 2, 0),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_execveat, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE),
  } ;
  struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f } ;
  if (ptrace(PTRACE_TRACEME, 0, 0, 0) < 0) strerr_diefu1sys(EX_OSERR, "PTRACE_TRACEME") ;
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) strerr_diefu1sys(EX_OSERR, "set no_new_privs") ;
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0) strerr_diefu1sys(EX_OSERR, "install the seccomp filter") ;
  raise(SIGSTOP) ;
  execvp(argv[0], (char *const *)argv) ;
  strerr_dieexec(errno == ENOENT ? 127 : 126, argv[0]) ;
}

static void on_event (proc *p, int event)
{
  unsigned long msg = 0 ;
  switch (event)
  {
    case PTRACE_EVENT_FORK :
    case PTRACE_EVENT_VFORK :
    case PTRACE_EVENT_CLONE :
    {
      proc *c ;
      if (ptrace(PTRACE_GETEVENTMSG, p->pid, 0, &msg) < 0) break ;
      c = proc_new((pid_t)msg) ;
      /* the child may have been seen, even exec'd, before this event */
      if (event == PTRACE_EVENT_VFORK && !c->execd) c->sharedvm = 1 ;
      break ;
    }
    case PTRACE_EVENT_SECCOMP :
      /* an execve is about to replace the image: read it now */
      if (p->execd && read_hwm(p->pid, &p->hwm, p->exe)) p->pending = 1 ;
      break ;
    case PTRACE_EVENT_EXEC :
      if (p->execd && p->pending) emit(p->pid, p->hwm, p->exe) ;
      p->pending = 0 ;
      p->execd = 1 ;
      p->sharedvm = 0 ;
      break ;
    case PTRACE_EVENT_EXIT :
    {
      unsigned long hwm ;
      char exe[EXELEN] ;
      if (p->sharedvm || is_thread(p->pid)) break ;
      if (read_hwm(p->pid, &hwm, exe)) emit(p->pid, hwm, exe) ;
      else if (p->pending) emit(p->pid, p->hwm, p->exe) ;
      p->pending = 0 ;
      break ;
    }
    default : break ;
  }
}

static int trace (pid_t first)
{
  int code = EX_SOFTWARE ;
  long opts = PTRACE_O_TRACESECCOMP | PTRACE_O_TRACEEXEC | PTRACE_O_TRACEEXIT
            | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE | PTRACE_O_EXITKILL ;
  int wstat ;
  if (waitpid(first, &wstat, 0) < 0 || !WIFSTOPPED(wstat)) strerr_diefu1sys(EX_OSERR, "start the traced child") ;
  if (ptrace(PTRACE_SETOPTIONS, first, 0, opts) < 0) strerr_diefu1sys(EX_OSERR, "PTRACE_SETOPTIONS") ;
  proc_new(first)->fresh = 0 ;
  if (ptrace(PTRACE_CONT, first, 0, 0) < 0) strerr_diefu1sys(EX_OSERR, "PTRACE_CONT") ;
  for (;;)
  {
    pid_t pid = waitpid(-1, &wstat, __WALL) ;
    proc *p ;
    int sig = 0 ;
    if (pid < 0)
    {
      if (errno == EINTR) continue ;
      if (errno == ECHILD) break ;
      strerr_diefu1sys(EX_OSERR, "waitpid") ;
    }
    if (WIFEXITED(wstat) || WIFSIGNALED(wstat))
    {
      if (pid == first) code = WIFEXITED(wstat) ? WEXITSTATUS(wstat) : 128 + WTERMSIG(wstat) ;
      p = proc_find(pid) ;
      if (p) p->pid = 0 ;
      continue ;
    }
    if (!WIFSTOPPED(wstat)) continue ;
    p = proc_new(pid) ;
    if (wstat >> 16) on_event(p, wstat >> 16) ;
    else if (WSTOPSIG(wstat) == SIGSTOP && p->fresh) p->fresh = 0 ;
    else sig = WSTOPSIG(wstat) ;
    ptrace(PTRACE_CONT, pid, 0, sig) ;
  }
  return code ;
}

int main (int argc, char const *const *argv)
{
  char const *file = 0 ;
  subgetopt l = SUBGETOPT_ZERO ;
  pid_t pid ;
  int fd, code ;
  PROG = "rsstrace" ;
  for (;;)
  {
    int opt = subgetopt_r(argc, argv, "o:", &l) ;
    if (opt == -1) break ;
    switch (opt)
    {
      case 'o' : file = l.arg ; break ;
      default : dieusage() ;
    }
  }
  argc -= l.ind ; argv += l.ind ;
  if (!argc || !file) dieusage() ;
  fd = open_trunc(file) ;
  if (fd < 0 || coe(fd) < 0) strerr_diefu2sys(EX_CANTCREAT, "open ", file) ;
  buffer_init(&out, &buffer_write, fd, outbuf, sizeof(outbuf)) ;
  pid = fork() ;
  if (pid < 0) strerr_diefu1sys(EX_OSERR, "fork") ;
  if (!pid) child(argv) ;
  code = trace(pid) ;
  if (!buffer_flush(&out)) strerr_diefu2sys(EX_IOERR, "write ", file) ;
  fd_close(fd) ;
  return code ;
}
