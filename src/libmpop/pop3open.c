/* ISC license. */

#include <string.h>
#include <sysexits.h>

#include <skalibs/stralloc.h>
#include <skalibs/types.h>

#include <mpop/account.h>
#include <mpop/conn.h>
#include <mpop/err.h>
#include <mpop/pop3.h>
#include <mpop/settings.h>
#include "pop3-internal.h"

#define CAPA_MAX 1000

void pop3_decide_pipelining (pop3 *p)
{
  p->pipelining = p->pipelining_setting >= 0 ? p->pipelining_setting
    : (p->caps & POP3_CAP_CAPA) && (p->caps & POP3_CAP_PIPELINING) ;
}

 /* APOP timestamp: from the first '<' to the next '>', an address made of
    RFC 5322 atext characters and dots with an '@' (Dovecot's holds base64) */
static int parse_timestamp (pop3 *p)
{
  char const *s = p->line.s ;
  char const *lt = memchr(s, '<', p->line.len), *gt ;
  int at = 0 ;
  p->timestamp.len = 0 ;
  if (!lt) return 1 ;
  gt = memchr(lt, '>', p->line.len - (lt - s)) ;
  if (!gt || gt == lt + 1) return 1 ;
  for (char const *c = lt + 1 ; c < gt ; c++)
  {
    if (*c == '@') at = 1 ;
    else if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || (*c && strchr(".!#$%&'*+/=?^_`{|}~-", *c))))
      return 1 ;
  }
  if (!at) return 1 ;
  if (!stralloc_copyb(&p->timestamp, lt, gt + 1 - lt) || !stralloc_0(&p->timestamp)) return 0 ;
  p->timestamp.len-- ;
  p->caps |= POP3_CAP_APOP ;
  return 1 ;
}

static int parse_greeting (pop3 *p)
{
  size_t skip = p->line.len >= 4 ? 4 : p->line.len ;
  if (!stralloc_copyb(&p->greeting, p->line.s + skip, p->line.len - skip) || !stralloc_0(&p->greeting)) return 0 ;
  p->greeting.len-- ;
  mpop_sanitize(p->greeting.s, p->greeting.len) ;
  return parse_timestamp(p) ;
}

 /* CAPA */

static size_t token (char const *s, size_t len, size_t *start)
{
  size_t i = *start, j ;
  while (i < len && (s[i] == ' ' || s[i] == '\t')) i++ ;
  j = i ;
  while (j < len && s[j] != ' ' && s[j] != '\t') j++ ;
  *start = i ;
  return j - i ;
}

static int is (char const *s, size_t len, char const *word)
{
  size_t n = strlen(word) ;
  if (n != len) return 0 ;
  for (size_t i = 0 ; i < n ; i++)
  {
    char c = s[i] >= 'a' && s[i] <= 'z' ? s[i] - 32 : s[i] ;
    if (c != word[i]) return 0 ;
  }
  return 1 ;
}

static int capa_sasl (pop3 *p, char const *s, size_t len, size_t pos)
{
  p->sasl.len = 0 ;
  for (;;)
  {
    size_t n = token(s, len, &pos) ;
    if (!n) break ;
    if (p->sasl.len && !stralloc_catb(&p->sasl, " ", 1)) return 0 ;
    for (size_t i = 0 ; i < n ; i++)
    {
      char c = s[pos + i] >= 'a' && s[pos + i] <= 'z' ? s[pos + i] - 32 : s[pos + i] ;
      if (!stralloc_catb(&p->sasl, &c, 1)) return 0 ;
    }
    pos += n ;
  }
  if (!stralloc_0(&p->sasl)) return 0 ;
  p->sasl.len-- ;
  mpop_sanitize(p->sasl.s, p->sasl.len) ;
  p->caps |= POP3_CAP_SASL ;
  return 1 ;
}

static int capa_text (stralloc *sa, char const *s, size_t len, size_t pos)
{
  while (pos < len && (s[pos] == ' ' || s[pos] == '\t')) pos++ ;
  if (!stralloc_copyb(sa, s + pos, len - pos) || !stralloc_0(sa)) return 0 ;
  sa->len-- ;
  mpop_sanitize(sa->s, sa->len) ;
  return 1 ;
}

static void capa_number (pop3 *p, char const *s, size_t len, size_t pos, unsigned int flag, unsigned long *v)
{
  size_t n = token(s, len, &pos) ;
  char buf[ULONG_FMT] ;
  if (flag == POP3_CAP_EXPIRE && is(s + pos, n, "NEVER")) { *v = POP3_EXPIRE_NEVER ; p->caps |= flag ; return ; }
  if (!n || n >= sizeof(buf)) return ;
  memcpy(buf, s + pos, n) ;
  buf[n] = 0 ;
  if (ulong_scan(buf, v) != n || *v == POP3_EXPIRE_NEVER) return ;
  p->caps |= flag ;
}

static int capa_line (pop3 *p, char const *s, size_t len)
{
  size_t pos = 0, n = token(s, len, &pos) ;
  char const *w = s + pos ;
  pos += n ;
  if (is(w, n, "TOP")) p->caps |= POP3_CAP_TOP ;
  else if (is(w, n, "UIDL")) p->caps |= POP3_CAP_UIDL ;
  else if (is(w, n, "PIPELINING")) p->caps |= POP3_CAP_PIPELINING ;
  else if (is(w, n, "USER")) p->caps |= POP3_CAP_USER ;
  else if (is(w, n, "STLS")) p->caps |= POP3_CAP_STLS ;
  else if (is(w, n, "RESP-CODES")) p->caps |= POP3_CAP_RESP_CODES ;
  else if (is(w, n, "AUTH-RESP-CODE")) p->caps |= POP3_CAP_AUTH_RESP_CODE ;
  else if (is(w, n, "SASL")) return capa_sasl(p, s, len, pos) ;
  else if (is(w, n, "IMPLEMENTATION"))
  {
    if (!capa_text(&p->implementation, s, len, pos)) return 0 ;
    p->caps |= POP3_CAP_IMPLEMENTATION ;
  }
  else if (is(w, n, "LOGIN-DELAY")) capa_number(p, s, len, pos, POP3_CAP_LOGIN_DELAY, &p->login_delay) ;
  else if (is(w, n, "EXPIRE")) capa_number(p, s, len, pos, POP3_CAP_EXPIRE, &p->expire) ;
  return 1 ;
}

static int capa (pop3 *p, int forget)
{
  stralloc line = STRALLOC_ZERO ;
  unsigned int n = 0 ;
  int r = pop3_command(p, "CAPA", 0) ;
  if (r < 0) return p->code ;
  if (forget)
  {
    p->caps &= POP3_CAP_APOP ;
    p->sasl.len = 0 ;
    p->implementation.len = 0 ;
    p->login_delay = p->expire = 0 ;
  }
  if (r)
  {
    p->caps |= POP3_CAP_CAPA ;
    while ((r = pop3_getline(p, &line)) > 0)
    {
      if (++n > CAPA_MAX) { pop3_failmsg(p, EX_PROTOCOL, "invalid reply to command CAPA: too many lines", 0, 0) ; r = -1 ; break ; }
      if (!capa_line(p, line.s, line.len)) { pop3_nomem(p) ; r = -1 ; break ; }
    }
  }
  else p->srvmsg.len = 0 ;
  stralloc_free(&line) ;
  if (r < 0) return p->code ;
  pop3_decide_pipelining(p) ;
  return 0 ;
}

int pop3_capa (pop3 *p)
{
  return capa(p, 1) ;
}

int pop3_capa_more (pop3 *p)
{
  return capa(p, 0) ;
}

 /* STLS (RFC 2595) */

static int starttls (pop3 *p)
{
  int r ;
  if ((p->caps & POP3_CAP_CAPA) && !(p->caps & POP3_CAP_STLS))
    return pop3_failmsg(p, EX_UNAVAILABLE, "the POP3 server does not support TLS via the STLS command", 0, 0) ;
  r = pop3_command(p, "STLS", 0) ;
  if (r < 0) return p->code ;
  if (!r) return pop3_fail(p, EX_PROTOCOL, "command STLS failed") ;
  if (pop3_pending(p))
  {
    p->srvmsg.len = 0 ;
    return pop3_failmsg(p, EX_PROTOCOL, "command STLS failed: the server sent clear-text data after its +OK "
      "(possibly injected by an attacker); refusing to start TLS", 0, 0) ;
  }
  if (conn_tls_start(&p->c, p->a)) return pop3_connerr(p) ;
  p->secured = 1 ;
  if (p->caps & POP3_CAP_CAPA) return pop3_capa(p) ;
  p->caps &= POP3_CAP_APOP ;
  pop3_decide_pipelining(p) ;
  return 0 ;
}

int pop3_open (pop3 *p, account const *a, unsigned int flags)
{
  char const *pl = a->v[S_PIPELINING] ;
  int tls = settings_onoff(a->v[S_TLS]), starttls_on = settings_onoff(a->v[S_TLS_STARTTLS]) ;
  unsigned int cflags = (flags & POP3_UCSPI ? CONN_UCSPI : 0) | (flags & POP3_CANON ? CONN_CANON : 0) ;
  int r ;
  p->a = a ;
  p->pipelining_setting = !pl || !strcmp(pl, "auto") ? -1 : !strcmp(pl, "on") ;
  if (flags & POP3_SECURED) { p->secured = 1 ; tls = 0 ; }
  if (tls)
  {
    r = conn_tls_check(a, &p->msg) ;
    if (r) { p->code = r ; return r ; }
  }
  if (conn_open(&p->c, a, cflags)) return pop3_connerr(p) ;
  if (tls && !starttls_on)
  {
    if (conn_tls_start(&p->c, a)) return pop3_connerr(p) ;
    p->secured = 1 ;
  }
  r = pop3_status(p) ;
  if (r < 0) return p->code ;
  if (!r) return pop3_fail(p, EX_PROTOCOL, "cannot get initial OK message from POP3 server") ;
  if (!parse_greeting(p)) return pop3_nomem(p) ;
  if (pop3_capa(p)) return p->code ;
  if (tls && starttls_on && starttls(p)) return p->code ;
  return 0 ;
}
