/* ISC license. */

#include <errno.h>
#include <unistd.h>

#include <skalibs/buffer.h>
#include <skalibs/djbunix.h>
#include <skalibs/skamisc.h>
#include <skalibs/stralloc.h>

#include <mpop/account.h>

extern char **environ ;

int mpop_eval (char const *cmd, stralloc *line)
{
  char const *argv[4] = { "/bin/sh", "-c", cmd, 0 } ;
  char buf[BUFFER_INSIZE] ;
  buffer b ;
  int fd, r, wstat ;
  pid_t pid = child_spawn1_pipe(argv[0], argv, (char const *const *)environ, &fd, 1) ;
  if (!pid) return -1 ;
  buffer_init(&b, &buffer_read, fd, buf, sizeof(buf)) ;
  line->len = 0 ;
  r = skagetln(&b, line, '\n') ;
  if (r < 0 && errno == EPIPE) r = line->len > 0 ;
  fd_close(fd) ;
  if (wait_pid(pid, &wstat) < 0) return -1 ;
  if (r <= 0) return r ;
  if (line->len && line->s[line->len - 1] == '\n') line->len-- ;
  if (line->len && line->s[line->len - 1] == '\r') line->len-- ;
  return stralloc_0(line) ? 1 : -1 ;
}
