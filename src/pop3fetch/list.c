/* ISC license. */

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <skalibs/stralloc.h>
#include <skalibs/types.h>

#include <mpop/err.h>
#include <mpop/pop3.h>
#include <mpop/uidlquick.h>
#include <mpop/uidls.h>

#include "pop3fetch.h"
#include "filter.h"

#define MAX_MESSAGES 1000000

static char const *line_str (stralloc *sa)
{
  if (!stralloc_0(sa)) mpop_dienomem() ;
  sa->len-- ;
  return sa->s ;
}

static void invalid_reply (session *s, char const *cmd)
{
  stralloc sa = STRALLOC_ZERO ;
  if (!stralloc_cats(&sa, "invalid reply to command ") || !stralloc_cats(&sa, cmd) || !stralloc_0(&sa)) mpop_dienomem() ;
  session_die(s, EX_PROTOCOL, sa.s, 0) ;
}

static void command (session *s, char const *cmd)
{
  int r = pop3_command(&s->p, cmd, 0) ;
  if (r < 0) session_die_pop3(s) ;
  if (!r)
  {
    stralloc sa = STRALLOC_ZERO ;
    if (!stralloc_cats(&sa, "command ") || !stralloc_cats(&sa, cmd) || !stralloc_cats(&sa, " failed") || !stralloc_0(&sa)) mpop_dienomem() ;
    pop3_fail(&s->p, EX_PROTOCOL, sa.s) ;
    session_die_pop3(s) ;
  }
}

 /* "n rest": the message index (0-based) and where rest starts, or 0 */
static char const *scan_msgnum (session const *s, char const *l, unsigned int *i)
{
  unsigned int n ;
  size_t k = uint_scan(l, &n) ;
  if (!k || l[k] != ' ' || !n || n > s->n) return 0 ;
  l += k ;
  while (*l == ' ') l++ ;
  *i = n - 1 ;
  return l ;
}

 /* The server may take long to open a big mailbox before it answers
    STAT: meanwhile is run between sending STAT and reading the reply. */
void session_stat (session *s, void (*meanwhile) (session *))
{
  char const *l ;
  size_t k ;
  int r ;
  if (pop3_queue(&s->p, "STAT", 0) || pop3_flush(&s->p)) session_die_pop3(s) ;
  if (meanwhile) (*meanwhile)(s) ;
  r = pop3_status(&s->p) ;
  if (r < 0) session_die_pop3(s) ;
  if (!r)
  {
    pop3_fail(&s->p, EX_PROTOCOL, "command STAT failed") ;
    session_die_pop3(s) ;
  }
  l = line_str(&s->p.line) ;
  if (!strncmp(l, "+OK", 3)) l += 3 ;
  else l++ ;
  while (*l == ' ') l++ ;
  k = uint_scan(l, &s->n) ;
  if (!k || l[k] != ' ') invalid_reply(s, "STAT") ;
  l += k ;
  while (*l == ' ') l++ ;
  if (!uint64_scan(l, &s->total)) s->total = 0 ;
  if (s->n > MAX_MESSAGES) session_die(s, EX_SOFTWARE, "cannot handle more than 1000000 messages", 0) ;
  if (s->n && !(s->m = calloc(s->n, sizeof(msg)))) mpop_dienomem() ;
  for (unsigned int i = 0 ; i < s->n ; i++) s->m[i].uid = NOUID ;
}

 /* Nothing can be new, found without listing every UID: keep on, only
    new messages wanted (so killsize, skipsize and the filter never act on
    a known message), as many messages as stored UIDs, and a sample of
    positions answers known UIDs. Then every message is old, and neither
    LIST nor UIDL is sent. 1 if so, 0 for the full listing. */
int session_quick (session *s)
{
  uidls_set *known ;
  int r ;
  if (s->opts & (OPT_FULLUIDL | OPT_ADOPT) || s->keep != ULLONG_MAX || !s->only_new) return 0 ;
  if (s->n < UIDLQUICK_MIN || (s->p.caps & POP3_CAP_CAPA && !(s->p.caps & POP3_CAP_UIDL))) return 0 ;
  known = uidls_self(&s->u) ;
  uidls_set_sort(known) ;
  if (uidls_set_len(known) != s->n) return 0 ;
  r = uidlquick_check(&s->p, s->n, known) ;
  if (r < 0) session_die_pop3(s) ;
  if (!r) return 0 ;
  for (unsigned int i = 0 ; i < s->n ; i++) s->m[i].flags |= M_OLD ;
  return 1 ;
}

 /* Sizes: for the status line, the progress, killsize, skipsize, %S and
    the stream (asked always, as mpop does). */
void session_list (session *s)
{
  stralloc line = STRALLOC_ZERO ;
  unsigned char *seen ;
  unsigned int count = 0 ;
  if (!s->n) return ;
  seen = calloc(s->n, 1) ;
  if (!seen) mpop_dienomem() ;
  command(s, "LIST") ;
  for (;;)
  {
    char const *l ;
    unsigned int i ;
    int r = pop3_getline(&s->p, &line) ;
    if (r < 0) session_die_pop3(s) ;
    if (!r) break ;
    l = scan_msgnum(s, line_str(&line), &i) ;
    if (!l || seen[i]) invalid_reply(s, "LIST") ;
    seen[i] = 1 ;
    count++ ;
    if (!uint64_scan(l, &s->m[i].size)) s->m[i].size = 0 ;
  }
  if (count != s->n) invalid_reply(s, "LIST") ;
  free(seen) ;
  stralloc_free(&line) ;
}

static char const *uid_base ;

static int uid_cmp (void const *a, void const *b)
{
  return strcmp(uid_base + ((msg const *const *)a)[0]->uid, uid_base + ((msg const *const *)b)[0]->uid) ;
}

 /* Servers often list UIDs in ascending order already */
static int sorted (msg **v, unsigned int k)
{
  for (unsigned int i = 1 ; i < k ; i++) if (uid_cmp(v + i - 1, v + i) > 0) return 0 ;
  return 1 ;
}

 /* A UID is not a message identity: when the server gives the same UID to
    several messages, none of them can be tracked. */
 /* The messages that have a UID, sorted bytewise by UID; count in *k */
static msg **by_uid (session *s, unsigned int *k)
{
  msg **v = malloc((s->n ? s->n : 1) * sizeof(msg *)) ;
  unsigned int n = 0 ;
  if (!v) mpop_dienomem() ;
  for (unsigned int i = 0 ; i < s->n ; i++) if (s->m[i].uid != NOUID) v[n++] = s->m + i ;
  uid_base = s->uids.s ;
  if (!sorted(v, n)) qsort(v, n, sizeof(msg *), &uid_cmp) ;
  *k = n ;
  return v ;
}

static void forget_duplicates (session *s)
{
  unsigned int k ;
  msg **v = by_uid(s, &k) ;
  for (unsigned int i = 0 ; i < k ; )
  {
    unsigned int j = i + 1 ;
    while (j < k && !uid_cmp(v + i, v + j)) j++ ;
    if (j > i + 1)
    {
      mpop_warn("the POP3 server gave the UID ", s->uids.s + v[i]->uid, " to several messages: they are treated as having no UID") ;
      for (unsigned int m = i ; m < j ; m++) v[m]->uid = NOUID ;
    }
    i = j ;
  }
  free(v) ;
}

static int uid_ok (char const *uid, size_t len)
{
  if (!len) return 0 ;
  for (size_t i = 0 ; i < len ; i++)
    if ((unsigned char)uid[i] < 32 || uid[i] == 127) return 0 ;
  return 1 ;
}

 /* Without UIDL (not in CAPA, or -ERR), every message is new. */
void session_uidl (session *s)
{
  stralloc line = STRALLOC_ZERO ;
  unsigned char *seen ;
  unsigned int count = 0 ;
  int r ;
  s->nouidl = s->p.caps & POP3_CAP_CAPA && !(s->p.caps & POP3_CAP_UIDL) ;
  if (!s->n || s->nouidl) return ;
  r = pop3_command(&s->p, "UIDL", 0) ;
  if (r < 0) session_die_pop3(s) ;
  if (!r) { s->nouidl = 1 ; return ; }
  seen = calloc(s->n, 1) ;
  if (!seen) mpop_dienomem() ;
  for (;;)
  {
    char const *l ;
    unsigned int i ;
    size_t len ;
    r = pop3_getline(&s->p, &line) ;
    if (r < 0) session_die_pop3(s) ;
    if (!r) break ;
    l = scan_msgnum(s, line_str(&line), &i) ;
    if (!l || seen[i]) invalid_reply(s, "UIDL") ;
    len = line.s + line.len - l ;
    if (!uid_ok(l, len)) invalid_reply(s, "UIDL") ;
    seen[i] = 1 ;
    count++ ;
    if (!uidls_uid_valid(l, len))
    {
      char fmt[UINT_FMT] ;
      fmt[uint_fmt(fmt, i + 1)] = 0 ;
      mpop_warn("the UID of message ", fmt, " cannot be stored: the message is treated as having no UID") ;
      continue ;
    }
    s->m[i].uid = s->uids.len ;
    if (!stralloc_catb(&s->uids, l, len) || !stralloc_0(&s->uids)) mpop_dienomem() ;
  }
  if (count != s->n) invalid_reply(s, "UIDL") ;
  free(seen) ;
  stralloc_free(&line) ;
  forget_duplicates(s) ;
}

 /* Old or new, from the UIDLs file: both lists sorted, one merge pass */
void session_decide (session *s)
{
  uidls_set *set = uidls_self(&s->u) ;
  unsigned int k ;
  msg **v = by_uid(s, &k) ;
  size_t j = 0, m ;
  uidls_set_sort(set) ;
  m = uidls_set_len(set) ;
  for (unsigned int i = 0 ; i < k && j < m ; i++)
  {
    char const *uid = s->uids.s + v[i]->uid ;
    int r = 1 ;
    while (j < m && (r = strcmp(uidls_set_uid(set, j), uid)) < 0) j++ ;
    if (j < m && !r)
    {
      v[i]->flags |= M_OLD ;
      v[i]->ts = uidls_set_ts(set, j) ;
    }
  }
  free(v) ;
}

 /* What to do with each message: old ones with only_new are not
    retrieved; then killsize, then skipsize, then the filter. */
void session_policy (session *s)
{
  for (unsigned int i = 0 ; i < s->n ; i++)
  {
    msg *m = s->m + i ;
    if (m->flags & M_OLD && s->only_new) continue ;
    if (s->haskill && m->size >= s->killsize)
    {
      m->flags |= M_KILLED ;
      if (s->progress)
      {
        if (session_keeps(s, i)) out_policy(s, i, "skipping", "killsize + keep") ;
        else out_policy(s, i, "deleting", "killsize") ;
      }
    }
    else if (s->hasskip && m->size >= s->skipsize)
    {
      if (s->progress) out_policy(s, i, "skipping", "skipsize") ;
    }
    else m->flags |= M_RETR ;
  }
  session_filter(s) ;
}

 /* The deletion rule of mpop 1.4.23: a message is kept while the session
    started less than keep seconds after its first-seen time. Messages seen
    for the first time now, and messages without a UID, have age 0. */
int session_keeps (session const *s, unsigned int i)
{
  int64_t age ;
  if (s->keep > INT64_MAX) return 1 ;
  age = s->m[i].flags & M_OLD ? s->start - s->m[i].ts : 0 ;
  return age < (int64_t)s->keep ;
}

int session_recordable (session const *s, unsigned int i)
{
  return s->m[i].uid != NOUID ;
}
