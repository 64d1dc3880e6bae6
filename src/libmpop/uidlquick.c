/* ISC license. */

#include <string.h>

#include <skalibs/stralloc.h>

#include <mpop/pop3.h>
#include <mpop/uidlquick.h>
#include <mpop/uidls.h>

#include "pop3-internal.h"

unsigned int uidlquick_positions (unsigned int *pos, unsigned int n)
{
  unsigned int k = 0 ;
  if (!n) return 0 ;
  for (unsigned int i = 0 ; i < UIDLQUICK_SAMPLES ; i++)
  {
    unsigned int p = 1 + (unsigned int)((unsigned long long)(n - 1) * i / (UIDLQUICK_SAMPLES - 1)) ;
    if (!k || p > pos[k - 1]) pos[k++] = p ;
  }
  return k ;
}

static int uid_clean (char const *uid, size_t len)
{
  if (!len) return 0 ;
  for (size_t i = 0 ; i < len ; i++)
    if ((unsigned char)uid[i] < 32 || uid[i] == 127) return 0 ;
  return 1 ;
}

static char const *skip_number (char const *s, char const *end, unsigned int k)
{
  unsigned long long num = 0 ;
  char const *start = s ;
  while (s < end && *s >= '0' && *s <= '9' && s - start < 12) num = num * 10 + (*s++ - '0') ;
  return s > start && num == k ? s : 0 ;
}

int uidlquick_parse (char const *line, size_t linelen, unsigned int k, char const **uid, size_t *len)
{
  char const *end = line + linelen ;
  if (linelen < 4 || memcmp(line, "+OK ", 4)) return 0 ;
  line += 4 ;
  while (line < end && *line == ' ') line++ ;
  line = skip_number(line, end, k) ;
  if (!line || line >= end || *line != ' ') return 0 ;
  while (line < end && *line == ' ') line++ ;
  if (!uid_clean(line, end - line)) return 0 ;
  *uid = line ;
  *len = end - line ;
  return 1 ;
}

 /* The UIDs of the replies read so far, NUL-terminated, in seen */
static int fresh (stralloc const *seen, char const *uid, size_t len)
{
  for (size_t i = 0 ; i < seen->len ; i += strlen(seen->s + i) + 1)
    if (strlen(seen->s + i) == len && !memcmp(seen->s + i, uid, len)) return 0 ;
  return 1 ;
}

static int known_uid (uidls_set *known, stralloc *seen, char const *uid, size_t len)
{
  size_t start = seen->len ;
  if (!fresh(seen, uid, len)) return 0 ;
  if (!stralloc_catb(seen, uid, len) || !stralloc_0(seen)) return -1 ;
  return uidls_set_find(known, seen->s + start, 0) ;
}

 /* One reply: 1 known, 0 not, -1 connection or memory error */
static int reply_ok (pop3 *p, unsigned int k, uidls_set *known, stralloc *seen)
{
  char const *uid ;
  size_t len ;
  int r = pop3_status(p) ;
  if (r <= 0) return r ;
  if (!uidlquick_parse(p->line.s, p->line.len, k, &uid, &len)) return 0 ;
  r = known_uid(known, seen, uid, len) ;
  if (r < 0)
  {
    pop3_nomem(p) ;
    return -1 ;
  }
  return r ;
}

int uidlquick_check (pop3 *p, unsigned int n, uidls_set *known)
{
  unsigned int pos[UIDLQUICK_SAMPLES] ;
  unsigned int k = uidlquick_positions(pos, n) ;
  stralloc seen = STRALLOC_ZERO ;
  int ok = 1 ;
  if (p->pipelining)
  {
    for (unsigned int i = 0 ; i < k ; i++)
      if (pop3_queue_num(p, "UIDL", pos[i])) return -1 ;
    if (pop3_flush(p)) return -1 ;
  }
  for (unsigned int i = 0 ; i < k ; i++)
  {
    int r ;
    if (!p->pipelining && (pop3_queue_num(p, "UIDL", pos[i]) || pop3_flush(p))) { ok = -1 ; break ; }
    r = reply_ok(p, pos[i], known, &seen) ;
    if (r < 0) { ok = -1 ; break ; }
    if (!r)
    {
      ok = 0 ;
      if (!p->pipelining) break ;
    }
  }
  stralloc_free(&seen) ;
  return ok ;
}
