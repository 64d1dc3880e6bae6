/* ISC license. */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <skalibs/allreadwrite.h>
#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>

#include <mpop/auth.h>

 /* The netrc format of ftp(1): tokens separated by blanks and newlines,
    "machine NAME", "default", "login"/"user", "password"/"passwd",
    "account", "macdef NAME" followed by lines up to an empty line.
    Tokens may be quoted with " or ', with \ escaping the next character
    inside quotes. A line starting with # is a comment. As in mpop, the
    "default" entry is never used: it would send a password meant for
    anything to this server. */

#define NETRC_MAX (1 << 20)

typedef struct lexer_s lexer, *lexer_ref ;
struct lexer_s
{
  char const *s ;
  size_t len ;
  size_t pos ;
} ;

static int blank (char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' ;
}

static int line_start (lexer const *l, size_t i)
{
  while (i && (l->s[i - 1] == ' ' || l->s[i - 1] == '\t')) i-- ;
  return !i || l->s[i - 1] == '\n' ;
}

 /* Skips blanks and comment lines */
static void skip_blanks (lexer *l)
{
  for (;;)
  {
    while (l->pos < l->len && blank(l->s[l->pos])) l->pos++ ;
    if (l->pos >= l->len || l->s[l->pos] != '#' || !line_start(l, l->pos)) return ;
    while (l->pos < l->len && l->s[l->pos] != '\n') l->pos++ ;
  }
}

 /* 1 token in tok (NUL-terminated), 0 end of file, -1 no memory */
static int next_token (lexer *l, stralloc *tok)
{
  tok->len = 0 ;
  skip_blanks(l) ;
  if (l->pos >= l->len) return 0 ;
  if (l->s[l->pos] == '"' || l->s[l->pos] == '\'')
  {
    char q = l->s[l->pos++] ;
    while (l->pos < l->len && l->s[l->pos] != q)
    {
      if (l->s[l->pos] == '\\' && l->pos + 1 < l->len) l->pos++ ;
      if (!secret_catb(tok, l->s + l->pos++, 1)) return -1 ;
    }
    if (l->pos < l->len) l->pos++ ;
  }
  else
    while (l->pos < l->len && !blank(l->s[l->pos]))
      if (!secret_catb(tok, l->s + l->pos++, 1)) return -1 ;
  return secret_catb(tok, "", 0) ? 1 : -1 ;
}

 /* After "macdef NAME": the rest of the line, then lines up to an empty one */
static void skip_macro (lexer *l)
{
  while (l->pos < l->len && l->s[l->pos] != '\n') l->pos++ ;
  if (l->pos < l->len) l->pos++ ;
  while (l->pos < l->len)
  {
    if (l->s[l->pos] == '\n') { l->pos++ ; return ; }
    if (l->s[l->pos] == '\r' && l->pos + 1 < l->len && l->s[l->pos + 1] == '\n') { l->pos += 2 ; return ; }
    while (l->pos < l->len && l->s[l->pos] != '\n') l->pos++ ;
    if (l->pos < l->len) l->pos++ ;
  }
}

typedef struct entry_s entry, *entry_ref ;
struct entry_s
{
  int open ;            /* inside a machine or default entry */
  int machine ;         /* the machine is the host */
  int login ;           /* the login is the user */
  int password ;        /* a password was given: in pw */
} ;

static int parse (lexer *l, char const *host, char const *user, stralloc *pw)
{
  stralloc tok = STRALLOC_ZERO ;
  entry e = { .open = 0, .machine = 0, .login = 0, .password = 0 } ;
  int r ;
  for (;;)
  {
    int key ;
    r = next_token(l, &tok) ;
    if (r <= 0) break ;
    if (!strcmp(tok.s, "machine") || !strcmp(tok.s, "default"))
    {
      if (e.open && e.machine && e.login) break ;
      e.open = 1 ; e.machine = e.login = e.password = 0 ;
      pw->len = 0 ;
      if (tok.s[0] == 'd') continue ;
      r = next_token(l, &tok) ;
      if (r <= 0) break ;
      e.machine = !strcasecmp(tok.s, host) ;
      continue ;
    }
    if (!strcmp(tok.s, "macdef"))
    {
      r = next_token(l, &tok) ;
      if (r <= 0) break ;
      skip_macro(l) ;
      continue ;
    }
    key = !strcmp(tok.s, "login") || !strcmp(tok.s, "user") ? 1
        : !strcmp(tok.s, "password") || !strcmp(tok.s, "passwd") ? 2
        : !strcmp(tok.s, "account") ? 3 : 0 ;
    if (!key) continue ;
    r = next_token(l, &tok) ;
    if (r <= 0) break ;
    if (!e.open) continue ;
    if (key == 1) e.login = !strcmp(tok.s, user) ;
    else if (key == 2)
    {
      pw->len = 0 ;
      if (!secret_catb(pw, tok.s, tok.len)) { r = -1 ; break ; }
      e.password = 1 ;
    }
  }
  secret_free(&tok) ;
  if (r < 0) return -1 ;
  if (e.open && e.machine && e.login && e.password) return 1 ;
  pw->len = 0 ;
  return 0 ;
}

int netrc_lookup (char const *file, char const *host, char const *user, stralloc *pw)
{
  stralloc data = STRALLOC_ZERO ;
  stralloc found = STRALLOC_ZERO ;
  lexer l ;
  struct stat st ;
  size_t n ;
  int r ;
  int fd = open(file, O_RDONLY | O_CLOEXEC | O_NONBLOCK) ;
  if (fd < 0) return errno == ENOENT || errno == ENOTDIR || errno == EACCES ? 0 : -1 ;
  if (fstat(fd, &st) < 0) { fd_close(fd) ; return -1 ; }
  if (!S_ISREG(st.st_mode) || st.st_size > NETRC_MAX) { fd_close(fd) ; return 0 ; }
  if (!secret_ready(&data, st.st_size + 1)) { fd_close(fd) ; return -1 ; }
  errno = 0 ;
  n = allread(fd, data.s, st.st_size + 1) ;
  r = errno ;
  fd_close(fd) ;
  if ((n < (size_t)st.st_size + 1 && r) || n > (size_t)st.st_size) { secret_free(&data) ; errno = r ; return r ? -1 : 0 ; }
  data.len = n ;
  l.s = data.s ; l.len = data.len ; l.pos = 0 ;
  r = parse(&l, host, user, &found) ;
  if (r > 0 && !secret_catb(pw, found.s, found.len)) r = -1 ;
  secret_free(&found) ;
  secret_free(&data) ;
  return r ;
}
