/* ISC license. */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <termios.h>
#include <unistd.h>

#include <skalibs/allreadwrite.h>
#include <skalibs/bytestr.h>
#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>

#include <mpop/account.h>
#include <mpop/auth.h>
#include <mpop/settings.h>

extern char **environ ;

static int say (stralloc *err, int code, char const *a, char const *b, char const *c)
{
  err->len = 0 ;
  if (!(stralloc_cats(err, a) && stralloc_cats(err, b) && stralloc_cats(err, c) && stralloc_0(err))) return EX_OSERR ;
  err->len-- ;
  return code ;
}

 /* Reads from fd up to the first newline (excluded) or EOF, as a secret;
    then drops one trailing CR. 1 something was read (maybe an empty
    line), 0 EOF at once, -1 error. */
static int read_first_line (int fd, stralloc *line, int (*stop) (void))
{
  char buf[512] ;
  int got = 0, r = 1 ;
  for (;;)
  {
    ssize_t n ;
    char *nl ;
    if (stop && (*stop)()) { r = -1 ; errno = EINTR ; break ; }
    n = read(fd, buf, sizeof(buf)) ;
    if (n < 0)
    {
      if (errno == EINTR) continue ;
      r = -1 ; break ;
    }
    if (!n) { r = got ; break ; }
    got = 1 ;
    nl = memchr(buf, '\n', n) ;
    if (!secret_catb(line, buf, nl ? (size_t)(nl - buf) : (size_t)n)) { r = -1 ; break ; }
    if (nl) break ;
  }
  byte_zzero(buf, sizeof(buf)) ;
  if (r > 0 && line->len && line->s[line->len - 1] == '\r') line->s[--line->len] = 0 ;
  return r ;
}

 /* The environment for children: ours without MPOP_PASSWORD */
static char const **child_env (void)
{
  size_t n = 0, j = 0 ;
  char const **env ;
  while (environ[n]) n++ ;
  env = malloc((n + 1) * sizeof(char const *)) ;
  if (!env) return 0 ;
  for (size_t i = 0 ; i < n ; i++)
    if (strncmp(environ[i], "MPOP_PASSWORD=", 14)) env[j++] = environ[i] ;
  env[j] = 0 ;
  return env ;
}

 /* Runs argv (searching PATH when search) with its stdout into a pipe;
    quiet: stdin and stderr on /dev/null. The first line of its output
    into line. 1 a line, 0 no output at all, -1 cannot run it (errno);
    *wstat gets its wait status. */
static int run_first_line (char const *const *argv, int search, int quiet, stralloc *line, int *wstat)
{
  posix_spawn_file_actions_t fa ;
  posix_spawnattr_t attr ;
  sigset_t set ;
  char const **env = child_env() ;
  pid_t pid ;
  int p[2], r, e ;
  if (!env) return -1 ;
  if (pipecoe(p) < 0) { free(env) ; return -1 ; }
  r = posix_spawn_file_actions_init(&fa) ;
  if (r) goto err ;
  r = posix_spawnattr_init(&attr) ;
  if (r) { posix_spawn_file_actions_destroy(&fa) ; goto err ; }
   /* a child that writes more than its first line dies of SIGPIPE, as
      under a shell, even if we ignore that signal */
  sigemptyset(&set) ;
  sigaddset(&set, SIGPIPE) ;
  r = posix_spawnattr_setsigdefault(&attr, &set) ;
  sigemptyset(&set) ;
  if (!r) r = posix_spawnattr_setsigmask(&attr, &set) ;
  if (!r) r = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK) ;
  if (!r) r = posix_spawn_file_actions_adddup2(&fa, p[1], 1) ;
  if (!r && quiet) r = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0) ;
  if (!r && quiet) r = posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0) ;
  if (!r) r = (search ? posix_spawnp : posix_spawn)(&pid, argv[0], &fa, &attr, (char *const *)argv, (char *const *)env) ;
  posix_spawnattr_destroy(&attr) ;
  posix_spawn_file_actions_destroy(&fa) ;
 err:
  free(env) ;
  fd_close(p[1]) ;
  if (r) { fd_close(p[0]) ; errno = r ; return -1 ; }
  r = read_first_line(p[0], line, 0) ;
  e = errno ;
  fd_close(p[0]) ;
  while (waitpid(pid, wstat, 0) < 0 && errno == EINTR) ;
  errno = e ;
  return r ;
}

static int passwordeval (char const *cmd, stralloc *pw, stralloc *err)
{
  char const *argv[4] = { "/bin/sh", "-c", cmd, 0 } ;
  int wstat ;
  int r = run_first_line(argv, 0, 0, pw, &wstat) ;
  if (r > 0) return 0 ;
  if (r < 0 && errno == ENOMEM) return say(err, EX_OSERR, "", "", "") ;
  return say(err, EX_CONFIG, "cannot read output of '", cmd, "'") ;
}

 /* secret-tool (libsecret): 1 found, 0 not (not installed, no entry, no
    keyring running) */
static int keyring (char const *host, char const *user, stralloc *pw)
{
  char const *argv[9] = { "secret-tool", "lookup", "host", host, "service", "pop3", "user", user, 0 } ;
  int wstat ;
  int r = run_first_line(argv, 1, 1, pw, &wstat) ;
  if (r > 0 && WIFEXITED(wstat) && !WEXITSTATUS(wstat)) return 1 ;
  pw->len = 0 ;
  return r < 0 && errno == ENOMEM ? -1 : 0 ;
}

static int netrc (char const *file, char const *host, char const *user, stralloc *pw)
{
  int r = netrc_lookup(file, host, user, pw) ;
  return r < 0 && errno != ENOMEM ? 0 : r ;
}

static int netrc_home (char const *host, char const *user, stralloc *pw)
{
  stralloc file = STRALLOC_ZERO ;
  int r ;
  if (!stralloc_cats(&file, mpop_home()) || !stralloc_cats(&file, "/.netrc") || !stralloc_0(&file)) return -1 ;
  r = netrc(file.s, host, user, pw) ;
  stralloc_free(&file) ;
  return r ;
}

 /* The prompt, as getpass(3) but on /dev/tty only, with the terminal
    restored when a signal ends it */

static volatile sig_atomic_t caught = 0 ;
static int const promptsigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT } ;
#define NSIGS (sizeof(promptsigs) / sizeof(promptsigs[0]))

static void catch (int sig)
{
  caught = sig ;
}

static int interrupted (void)
{
  return !!caught ;
}

static int prompt (char const *user, char const *host, stralloc *pw)
{
  struct sigaction old[NSIGS], sa ;
  struct termios told, tnew ;
  int r, e ;
  int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC) ;
  if (fd < 0) return 0 ;
  if (tcgetattr(fd, &told) < 0) { fd_close(fd) ; return 0 ; }
  tnew = told ;
  tnew.c_lflag &= ~(ECHO | ECHOE | ECHOK | ECHONL) ;
  caught = 0 ;
  memset(&sa, 0, sizeof(sa)) ;
  sa.sa_handler = &catch ;
  sigemptyset(&sa.sa_mask) ;
  for (unsigned int i = 0 ; i < NSIGS ; i++) sigaction(promptsigs[i], &sa, old + i) ;
  tcsetattr(fd, TCSAFLUSH, &tnew) ;
  if (allwrite(fd, "password for ", 13) < 13 || allwrite(fd, user, strlen(user)) < strlen(user)
   || allwrite(fd, " at ", 4) < 4 || allwrite(fd, host, strlen(host)) < strlen(host) || allwrite(fd, ": ", 2) < 2)
    r = -1 ;
  else r = read_first_line(fd, pw, &interrupted) ;
  e = errno ;
  tcsetattr(fd, TCSAFLUSH, &told) ;
  allwrite(fd, "\n", 1) ;
  fd_close(fd) ;
  for (unsigned int i = 0 ; i < NSIGS ; i++) sigaction(promptsigs[i], old + i, 0) ;
  if (caught) raise(caught) ;
  errno = e ;
  return r ;
}

int auth_password (account const *a, char const *method, stralloc *pw, stralloc *err)
{
  char const *host = a->v[S_HOST] ? a->v[S_HOST] : a->v[S_SOCKET] ? a->v[S_SOCKET] : "" ;
  char const *user = a->v[S_USER] ;
  char up[64] ;
  int r = 0 ;
  pw->len = 0 ;
  if (!auth_needs_password(method)) return 0 ;
  if (a->v[S_PASSWORD]) return secret_cats(pw, a->v[S_PASSWORD]) ? 0 : say(err, EX_OSERR, "", "", "") ;
  if (a->v[S_PASSWORDEVAL]) return passwordeval(a->v[S_PASSWORDEVAL], pw, err) ;
  if (user)
  {
    r = keyring(host, user, pw) ;
    if (!r) r = netrc_home(host, user, pw) ;
    if (!r) r = netrc("/etc/netrc", host, user, pw) ;
    if (!r) r = prompt(user, host, pw) ;
  }
  if (r > 0) return 0 ;
  if (r < 0 && errno == ENOMEM) return say(err, EX_OSERR, "", "", "") ;
  pw->len = 0 ;
  {
    size_t i = 0 ;
    for (; method[i] && i + 1 < sizeof(up) ; i++) up[i] = method[i] >= 'a' && method[i] <= 'z' ? method[i] - 32 : method[i] ;
    up[i] = 0 ;
  }
  return say(err, EX_UNAVAILABLE, "authentication method ", up, " needs a password") ;
}
