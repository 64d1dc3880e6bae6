/* ISC license. */

#include <string.h>
#include <strings.h>

#include <skalibs/stralloc.h>

#include <mpop/envfrom.h>

enum { ST_LINE, ST_SKIP, ST_DONE } ;

static int is_space (char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' ;
}

static char map_char (char c)
{
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return c ;
  if (c == '.' || c == '@' || c == '_' || c == '+' || c == '/' || c == '-') return c ;
  return is_space(c) ? '-' : '_' ;
}

int envfrom_sanitize (stralloc *sa, char const *s, size_t len)
{
  if (!stralloc_readyplus(sa, len)) return 0 ;
  for (size_t i = 0 ; i < len ; i++) sa->s[sa->len++] = map_char(s[i]) ;
  return 1 ;
}

 /* Skips a comment starting after its '(' ; returns the index after the
    closing ')', or len if unterminated (the comment eats the line) */
static size_t skip_comment (char const *s, size_t len, size_t i)
{
  unsigned int depth = 1 ;
  for (; i < len ; i++)
  {
    if (s[i] == '\\') { if (++i >= len) break ; }
    else if (s[i] == '(') depth++ ;
    else if (s[i] == ')' && !--depth) return i + 1 ;
  }
  return len ;
}

static size_t skip_quoted (char const *s, size_t len, size_t i)
{
  for (; i < len ; i++)
  {
    if (s[i] == '\\') { if (++i >= len) break ; }
    else if (s[i] == '"') return i + 1 ;
  }
  return len ;
}

 /* Reads the content of <...> starting after '<' into w; comments are
    skipped, anything else (quotes, spaces, '<') is content; a backslash
    takes the next byte literally. Returns the index after '>' (or len). */
static size_t read_angle (char const *s, size_t len, size_t i, stralloc *w)
{
  while (i < len)
  {
    char c = s[i++] ;
    if (c == '>') return i ;
    if (c == '(') { i = skip_comment(s, len, i) ; continue ; }
    if (c == '\\') { if (i >= len) break ; c = s[i++] ; }
    if (!stralloc_catb(w, &c, 1)) return (size_t)-1 ;
  }
  return len ;
}

 /* Outside <...>: a word is a run of bytes; whitespace ends it and a later
    word replaces it; comments vanish; ':' and a quoted string discard the
    word before them; ',' or ';' end the value once there is a word. */
int envfrom_parse (stralloc *sa, char const *s, size_t len)
{
  stralloc w = STRALLOC_ZERO ;
  size_t i = 0 ;
  int ended = 0, r = -1 ;
  while (i < len)
  {
    char c = s[i++] ;
    if (is_space(c)) { if (w.len) ended = 1 ; continue ; }
    switch (c)
    {
      case '(' : i = skip_comment(s, len, i) ; continue ;
      case '"' : w.len = 0 ; ended = 0 ; i = skip_quoted(s, len, i) ; continue ;
      case ':' : w.len = 0 ; ended = 0 ; continue ;
      case ',' : case ';' : if (w.len) goto done ; continue ;
      case '<' :
        w.len = 0 ; ended = 0 ;
        i = read_angle(s, len, i, &w) ;
        if (i == (size_t)-1) goto end ;
        if (w.len) goto done ;
        continue ;
      case '\\' :
        if (i >= len) continue ;
        c = s[i++] ;
        break ;
      default : break ;
    }
    if (ended) { w.len = 0 ; ended = 0 ; }
    if (!stralloc_catb(&w, &c, 1)) goto end ;
  }
 done:
  r = 0 ;
  if (w.len)
  {
    if (!envfrom_sanitize(sa, w.s, w.len)) r = -1 ;
    else r = 1 ;
  }
 end:
  stralloc_free(&w) ;
  return r ;
}

 /* "Return-Path:" or "Sender:" at the start of a line: the value's offset,
    0 if not a candidate, -1 if the line is too short to tell yet */
static int candidate (char const *s, size_t len)
{
  static char const *const names[2] = { "return-path:", "sender:" } ;
  int undecided = 0 ;
  for (unsigned int i = 0 ; i < 2 ; i++)
  {
    size_t n = strlen(names[i]) ;
    if (len >= n) { if (!strncasecmp(s, names[i], n)) return n ; }
    else if (!strncasecmp(s, names[i], len)) undecided = 1 ;
  }
  return undecided ? -1 : 0 ;
}

 /* A complete candidate line is in f->line: 1 if it gave the sender */
static int line_done (envfrom *f)
{
  int off = candidate(f->line.s, f->line.len) ;
  int r ;
  if (off <= 0) return 0 ;
  f->addr.len = 0 ;
  r = envfrom_parse(&f->addr, f->line.s + off, f->line.len - off) ;
  if (r < 0) return -1 ;
  if (!r) return 0 ;
  return stralloc_0(&f->addr) ? 1 : -1 ;
}

static int finish_found (envfrom *f)
{
  f->state = ST_DONE ;
  stralloc_free(&f->line) ;
  return 1 ;
}

int envfrom_feed (envfrom *f, char const *s, size_t len)
{
  while (len && f->state != ST_DONE)
  {
    char const *nl = memchr(s, '\n', len) ;
    size_t n = nl ? (size_t)(nl - s) : len ;
    if (f->state == ST_LINE)
    {
      size_t room = ENVFROM_LINEMAX - f->line.len ;
      if (!stralloc_catb(&f->line, s, n < room ? n : room)) return -1 ;
      if (!candidate(f->line.s, f->line.len)) f->state = ST_SKIP ;
    }
    if (!nl) break ;
    if (f->state == ST_LINE)
    {
      int r ;
      if (!f->line.len) return finish_found(f) ;
      r = line_done(f) ;
      if (r < 0) return -1 ;
      if (r) return finish_found(f) ;
    }
    f->line.len = 0 ;
    f->state = ST_LINE ;
    s += n + 1 ; len -= n + 1 ;
  }
  return f->state == ST_DONE ;
}

char const *envfrom_finish (envfrom *f)
{
  if (f->state == ST_LINE && f->line.len && line_done(f) < 0) return 0 ;
  f->state = ST_DONE ;
  if (!f->addr.len && !(stralloc_cats(&f->addr, ENVFROM_DEFAULT) && stralloc_0(&f->addr))) return 0 ;
  return f->addr.s ;
}

void envfrom_free (envfrom *f)
{
  stralloc_free(&f->line) ;
  stralloc_free(&f->addr) ;
  f->state = ST_LINE ;
}

int envfrom_get (stralloc *sa, char const *msg, size_t len)
{
  envfrom f = ENVFROM_ZERO ;
  char const *from ;
  int r = 0 ;
  if (envfrom_feed(&f, msg, len) < 0) goto end ;
  from = envfrom_finish(&f) ;
  if (!from) goto end ;
  r = stralloc_cats(sa, from) && stralloc_0(sa) ;
 end:
  envfrom_free(&f) ;
  return r ;
}

int envfrom_given (stralloc *sa, char const *s)
{
  size_t len = strlen(s) ;
  if (len >= 2 && s[0] == '<' && s[len - 1] == '>') { s++ ; len -= 2 ; }
  if (!len) return stralloc_cats(sa, ENVFROM_DEFAULT) && stralloc_0(sa) ;
  return envfrom_sanitize(sa, s, len) && stralloc_0(sa) ;
}

int envfrom_subst (stralloc *sa, char const *cmd, char const *from, char const *size)
{
  size_t oldlen = sa->len ;
  while (*cmd)
  {
    char const *p = strchr(cmd, '%') ;
    size_t n = p ? (size_t)(p - cmd) : strlen(cmd) ;
    if (!stralloc_catb(sa, cmd, n)) goto nomem ;
    cmd += n ;
    if (!p) break ;
    if (p[1] == 'F')
    {
      size_t start = sa->len ;
      if (!envfrom_sanitize(sa, from, strlen(from))) goto nomem ;
      if (sa->len > start && sa->s[start] == '-') sa->s[start] = '_' ;
      cmd += 2 ;
    }
    else if (p[1] == 'S' && size)
    {
      for (char const *q = size ; *q ; q++)
        if (*q >= '0' && *q <= '9' && !stralloc_catb(sa, q, 1)) goto nomem ;
      cmd += 2 ;
    }
    else
    {
      if (!stralloc_catb(sa, "%", 1)) goto nomem ;
      cmd++ ;
    }
  }
  if (!stralloc_0(sa)) goto nomem ;
  return 1 ;
 nomem:
  sa->len = oldlen ;
  return 0 ;
}
