/* ISC license. */

#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sysexits.h>

#include <skalibs/djbunix.h>
#include <skalibs/fmtscan.h>
#include <skalibs/types.h>
#include <skalibs/stralloc.h>

#include <mpop/account.h>
#include <mpop/settings.h>

#define LINE_MAX_LEN 500

char const *mpop_home (void)
{
  char const *h = getenv("HOME") ;
  if (!h)
  {
    struct passwd *pw = getpwuid(getuid()) ;
    h = pw && pw->pw_dir ? pw->pw_dir : "" ;
  }
  return h ;
}

static int file_exists (char const *path)
{
  struct stat st ;
  return !stat(path, &st) ;
}

int rcfile_default (stralloc *path)
{
  char const *home = mpop_home() ;
  char const *xdg = getenv("XDG_CONFIG_HOME") ;
  size_t base = path->len ;
  if (!stralloc_cats(path, home) || !stralloc_cats(path, "/.mpoprc") || !stralloc_0(path)) return 0 ;
  if (file_exists(path->s + base)) return 1 ;
  path->len = base ;
  if (xdg ? !stralloc_cats(path, xdg) : !stralloc_cats(path, home) || !stralloc_cats(path, "/.config")) return 0 ;
  if (!stralloc_cats(path, "/mpop/config") || !stralloc_0(path)) return 0 ;
  if (file_exists(path->s + base)) return 1 ;
  path->len = base ;
  return stralloc_cats(path, home) && stralloc_cats(path, "/.mpoprc") && stralloc_0(path) ;
}

 /* Error messages */

static int fail (stralloc *err, int code, char const *file, unsigned int line, char const *a, char const *b, char const *c)
{
  char fmt[UINT_FMT] ;
  err->len = 0 ;
  if (file && !(stralloc_cats(err, file) && stralloc_cats(err, ": "))) return EX_OSERR ;
  if (line)
  {
    fmt[uint_fmt(fmt, line)] = 0 ;
    if (!(stralloc_cats(err, "line ") && stralloc_cats(err, fmt) && stralloc_cats(err, ": "))) return EX_OSERR ;
  }
  if (!(stralloc_cats(err, a) && stralloc_cats(err, b ? b : "") && stralloc_cats(err, c ? c : "") && stralloc_0(err))) return EX_OSERR ;
  return code ;
}

 /* Accounts */

static char *xstrdup (char const *s)
{
  return s ? strdup(s) : 0 ;
}

int account_copy_from (account *to, account const *from, int onlyset)
{
  for (unsigned int i = 0 ; i < S_N ; i++)
  {
    if (onlyset && !from->set[i]) continue ;
    free(to->v[i]) ;
    to->v[i] = xstrdup(from->v[i]) ;
    if (from->v[i] && !to->v[i]) return 0 ;
    if (onlyset) to->set[i] = 1 ;
  }
  return 1 ;
}

void account_free (account *a)
{
  for (unsigned int i = 0 ; i < S_N ; i++) { free(a->v[i]) ; a->v[i] = 0 ; }
  free(a->name) ;
  a->name = 0 ;
}

void rcfile_free (rcfile *rc)
{
  for (unsigned int i = 0 ; i < rc->n ; i++) account_free(rc->accounts + i) ;
  free(rc->accounts) ;
  rc->accounts = 0 ;
  rc->n = rc->a = 0 ;
}

account *rcfile_account (rcfile const *rc, char const *name)
{
  for (unsigned int i = 0 ; i < rc->n ; i++)
    if (!strcmp(rc->accounts[i].name, name)) return rc->accounts + i ;
  return 0 ;
}

int account_set (account *a, unsigned int i, char const *arg, int how)
{
  stralloc sa = STRALLOC_ZERO ;
  int r = settings_normalize(i, arg, mpop_home(), how, &sa) ;
  if (r == SE_OK || r == SE_UNSET)
  {
    free(a->v[i]) ;
    a->v[i] = r == SE_OK ? sa.s : 0 ;
    if (r == SE_UNSET) stralloc_free(&sa) ;
    a->set[i] = 1 ;
    return SE_OK ;
  }
  stralloc_free(&sa) ;
  return r ;
}

 /* Lexing: trim blanks, then strip one pair of surrounding double quotes */

static void trim (char **s, size_t *len)
{
  while (*len && (**s == ' ' || **s == '\t')) { (*s)++ ; (*len)-- ; }
  while (*len && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t')) (*len)-- ;
  if (*len >= 2 && (*s)[0] == '"' && (*s)[*len - 1] == '"') { (*s)++ ; *len -= 2 ; }
  (*s)[*len] = 0 ;
}

typedef struct parser_s parser ;
struct parser_s
{
  rcfile *rc ;
  char const *file ;
  unsigned int line ;
  account defaults ;
  account *cur ;
  stralloc *err ;
} ;

static int fail_line (parser *p, char const *a, char const *b, char const *c)
{
  return fail(p->err, EX_CONFIG, p->file, p->line, a, b, c) ;
}

static int add_account (rcfile *rc, account *a)
{
  if (rc->n == rc->a)
  {
    unsigned int na = rc->a ? 2 * rc->a : 8 ;
    account *x = realloc(rc->accounts, na * sizeof(account)) ;
    if (!x) return 0 ;
    rc->accounts = x ;
    rc->a = na ;
  }
  rc->accounts[rc->n++] = *a ;
  return 1 ;
}

 /* account NAME [: PARENT[, PARENT...]] */
static int new_account (parser *p, char *arg)
{
  char *colon = strchr(arg, ':') ;
  char *name = arg ;
  size_t namelen = colon ? (size_t)(colon - arg) : strlen(arg) ;
  unsigned int nparents = 0 ;
  char *parents[LINE_MAX_LEN] ;
  account a = { 0 } ;
  if (colon)
  {
    char *s = colon + 1 ;
    for (;;)
    {
      char *comma = strchr(s, ',') ;
      size_t len = comma ? (size_t)(comma - s) : strlen(s) ;
      char *piece = s ;
      trim(&piece, &len) ;
      if (!len) return fail_line(p, "missing account name", 0, 0) ;
      if (!rcfile_account(p->rc, piece)) return fail_line(p, "account ", piece, " not (yet) defined") ;
      if (nparents == LINE_MAX_LEN) return fail_line(p, "too many accounts to inherit from", 0, 0) ;
      parents[nparents++] = piece ;
      if (!comma) break ;
      s = comma + 1 ;
    }
  }
  trim(&name, &namelen) ;
  if (!namelen) return fail_line(p, "missing account name", 0, 0) ;
  if (strchr(name, ',') || strchr(name, ':')) return fail_line(p, "an account name must not contain colons or commas", 0, 0) ;
  if (rcfile_account(p->rc, name)) return fail_line(p, "account ", name, " was already defined") ;
  if (!account_copy_from(&a, &p->defaults, 0)) return EX_OSERR ;
  for (unsigned int i = 0 ; i < nparents ; i++)
    if (!account_copy_from(&a, rcfile_account(p->rc, parents[i]), 1)) return EX_OSERR ;
  a.name = strdup(name) ;
  if (!a.name || !add_account(p->rc, &a)) return EX_OSERR ;
  p->cur = p->rc->accounts + p->rc->n - 1 ;
  return 0 ;
}

static int command (parser *p, char *cmd, char *arg, int fromeval)
{
  int i ;
  if (!strcmp(cmd, "defaults"))
  {
    if (*arg) return fail_line(p, "command defaults does not take an argument", 0, 0) ;
    p->cur = &p->defaults ;
    return 0 ;
  }
  if (!strcmp(cmd, "account"))
  {
    return new_account(p, arg) ;
  }
  if (!p->cur) return fail_line(p, "first command must be account or defaults", 0, 0) ;
  i = settings_find(cmd, strlen(cmd)) ;
  if (i < 0) return fail_line(p, "unknown command ", cmd, 0) ;
  if (i == S_PASSWORD && !fromeval) p->rc->has_password = 1 ;
  switch (account_set(p->cur, i, arg, NORM_RC))
  {
    case SE_OK : return 0 ;
    case SE_NEEDSARG : return fail_line(p, "command ", cmd, " needs an argument") ;
    case SE_BADSIZE : return fail_line(p, "invalid size (not a number or out of range): ", arg, 0) ;
    case SE_NOMEM : return EX_OSERR ;
    default :
    {
      stralloc m = STRALLOC_ZERO ;
      int r ;
      if (!stralloc_cats(&m, "invalid argument ") || !stralloc_cats(&m, arg) || !stralloc_0(&m)) return EX_OSERR ;
      r = fail_line(p, m.s, " for command ", cmd) ;
      stralloc_free(&m) ;
      return r ;
    }
  }
}

 /* One logical line: s is NUL-terminated and writable */
static int logical_line (parser *p, char *s, size_t len, int fromeval)
{
  char *cmd, *arg ;
  size_t cmdlen = 0 ;
  while (len && (*s == ' ' || *s == '\t')) { s++ ; len-- ; }
  if (!len || *s == '#') return 0 ;
  cmd = s ;
  while (cmdlen < len && s[cmdlen] != ' ' && s[cmdlen] != '\t') cmdlen++ ;
  arg = s + cmdlen ;
  len -= cmdlen ;
  if (len) { arg++ ; len-- ; }
  cmd[cmdlen] = 0 ;
  trim(&arg, &len) ;
  if (!strcmp(cmd, "eval"))
  {
    stralloc out = STRALLOC_ZERO ;
    int r ;
    if (fromeval) return fail_line(p, "unknown command eval", 0, 0) ;
    if (!*arg) return fail_line(p, "command eval needs an argument", 0, 0) ;
    r = mpop_eval(arg, &out) ;
    if (r < 0) { r = fail(p->err, EX_IOERR, p->file, 0, "cannot evaluate '", arg, "'") ; goto end ; }
    if (!r) { r = fail(p->err, EX_IOERR, p->file, 0, "cannot read output of '", arg, "'") ; goto end ; }
    if (memchr(out.s, 0, out.len - 1)) { r = fail_line(p, "output of eval contains a NUL byte", 0, 0) ; goto end ; }
    r = logical_line(p, out.s, out.len - 1, 1) ;
   end:
    stralloc_free(&out) ;
    return r ;
  }
  return command(p, cmd, arg, fromeval) ;
}

static int check_secure (char const *file, stralloc *err)
{
  struct stat st ;
  if (stat(file, &st) < 0) return fail(err, EX_IOERR, file, 0, strerror(errno), 0, 0) ;
  if (st.st_uid != geteuid()) return fail(err, EX_CONFIG, file, 0, "contains secrets and therefore must be owned by you", 0, 0) ;
  if (st.st_mode & 0177) return fail(err, EX_CONFIG, file, 0, "contains secrets and therefore must have no more than user read/write permissions", 0, 0) ;
  return 0 ;
}

static int parse (parser *p, stralloc *text)
{
  size_t pos = 0 ;
  while (pos < text->len)
  {
    char *s = text->s + pos ;
    char *nl = memchr(s, '\n', text->len - pos) ;
    size_t len = nl ? (size_t)(nl - s) : text->len - pos ;
    int r ;
    p->line++ ;
    pos += len + !!nl ;
    if (len >= LINE_MAX_LEN) return fail(p->err, EX_CONFIG, p->file, 0, "line longer than 500 characters", 0, 0) ;
    if (memchr(s, 0, len)) return fail_line(p, "contains a NUL byte", 0, 0) ;
    if (len && s[len - 1] == '\r') len-- ;
    s[len] = 0 ;
    r = logical_line(p, s, len, 0) ;
    if (r) return r ;
  }
  return 0 ;
}

int rcfile_read (rcfile *rc, char const *file, stralloc *err)
{
  stralloc text = STRALLOC_ZERO ;
  parser p = { .rc = rc, .file = file, .line = 0, .defaults = { 0 }, .cur = 0, .err = err } ;
  int r ;
  rc->file = file ;
  {
    int fd = open_readb(file) ;
    if (fd < 0) return fail(err, EX_IOERR, file, 0, strerror(errno), 0, 0) ;
    if (!slurp(&text, fd))
    {
      int e = errno ;
      fd_close(fd) ;
      return fail(err, EX_IOERR, file, 0, e == EISDIR ? "input error" : strerror(e), 0, 0) ;
    }
    fd_close(fd) ;
  }
  if (!stralloc_0(&text)) { r = EX_OSERR ; goto end ; }
  text.len-- ;
  r = parse(&p, &text) ;
  if (!r && rc->has_password) r = check_secure(file, err) ;
 end:
  account_free(&p.defaults) ;
  stralloc_free(&text) ;
  return r ;
}
