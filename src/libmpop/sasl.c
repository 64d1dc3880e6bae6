/* ISC license. */

#include <errno.h>
#include <string.h>
#include <sysexits.h>

#include <skalibs/stralloc.h>

#include <mpop/account.h>
#include <mpop/auth.h>
#include <mpop/conn.h>
#include <mpop/err.h>
#include <mpop/pop3.h>
#include <mpop/settings.h>
#include "pop3-internal.h"
#include "sasl-internal.h"

 /* RFC 5034 on top of a mechanism. The initial response goes on the AUTH
    line only when that line, CRLF included, fits in 255 octets (RFC 2449
    section 4); otherwise it follows the server's first continuation.
    Success needs both sides: the mechanism complete (for SCRAM, the
    server's signature verified) and +OK from the server. */

#define AUTH_LINE_MAX 255
#define MASK "********"

typedef struct exchange_s exchange, *exchange_ref ;
struct exchange_s
{
  pop3 *p ;
  saslmech m ;
  stralloc out ;      /* the client's raw answer */
  stralloc b64 ;      /* the same, encoded */
  stralloc in ;       /* the server's decoded challenge */
  stralloc err ;
  int complete ;      /* the mechanism has nothing more to say */
  int pending ;       /* an initial response waits for the first continuation */
  int sent ;          /* client data went out */
} ;
#define EXCHANGE_ZERO { .p = 0, .m = SASLMECH_ZERO, .out = STRALLOC_ZERO, .b64 = STRALLOC_ZERO, .in = STRALLOC_ZERO, .err = STRALLOC_ZERO, .complete = 0, .pending = 0, .sent = 0 }

 /* "cmd data" (or "data" alone), traced with non-empty secret data masked */
static int send_line (pop3 *p, char const *cmd, char const *data, size_t len, int secret)
{
  conn *c = &p->c ;
  if (p->trace)
  {
    stralloc t = STRALLOC_ZERO ;
    int ok = (!cmd || (stralloc_cats(&t, cmd) && (!data || stralloc_catb(&t, " ", 1))))
      && (!data || (secret && len ? stralloc_cats(&t, MASK) : stralloc_catb(&t, data, len))) ;
    if (!ok) { stralloc_free(&t) ; return pop3_nomem(p) ; }
    (*p->trace)(p, POP3_TRACE_OUT, t.s ? t.s : "", t.len) ;
    stralloc_free(&t) ;
  }
  if ((cmd && conn_put(c, cmd, strlen(cmd))) || (cmd && data && conn_put(c, " ", 1))
   || (data && len && conn_put(c, data, len)) || conn_put(c, "\r\n", 2))
    return pop3_connerr(p) ;
  return pop3_flush(p) ;
}

 /* msg = "authentication failed (method MECH)[: detail]", or "cannot log
    in now (method MECH): why; try again later" for a temporary response
    code; srvmsg = the server's last line when srv */
static int failed (exchange *x, int code, char const *detail, size_t dlen, int srv)
{
  pop3 *p = x->p ;
  stralloc t = STRALLOC_ZERO ;
  char const *why = srv && !detail ? pop3_errwhy(p) : 0 ;
  if (srv) pop3_fail(p, code, "") ;
  else p->srvmsg.len = 0 ;
  if (why)
  {
    detail = why ;
    dlen = strlen(why) ;
  }
  if (!(stralloc_cats(&t, why ? "cannot log in now (method " : "authentication failed (method ") && stralloc_cats(&t, x->m.name) && stralloc_catb(&t, ")", 1)
     && (!detail || (stralloc_catb(&t, ": ", 2) && stralloc_catb(&t, detail, dlen))) && (!why || stralloc_cats(&t, "; try again later")) && stralloc_0(&t)))
  {
    stralloc_free(&t) ;
    return pop3_nomem(p) ;
  }
  mpop_sanitize(t.s, t.len - 1) ;
  pop3_failmsg(p, code, t.s, 0, 0) ;
  stralloc_free(&t) ;
  return code ;
}

 /* "*", then the server's reply (whatever it is), then fail */
static int cancel (exchange *x, int code, char const *why)
{
  if (send_line(x->p, 0, "*", 1, 0) || pop3_status(x->p) < 0) return x->p->code ;
  return failed(x, code, why, strlen(why), 0) ;
}

static int answer (exchange *x)
{
  x->b64.len = 0 ;
  if (!base64_encode(&x->b64, x->out.s, x->out.len)) return pop3_nomem(x->p) ;
  x->sent = 1 ;
  return send_line(x->p, 0, x->b64.s, x->b64.len, 1) ;
}

 /* libgsasl does not say why gss_init_sec_context failed: name both
    usual causes, no ticket and a service principal the KDC does not know */
static int gssapi_hint (stralloc *err, account const *a)
{
  char const *host = a->v[S_HOST] ? a->v[S_HOST] : a->v[S_SOCKET] ;
  return stralloc_cats(err, " (is there a valid Kerberos ticket? see klist(1); does the KDC know the service principal pop/")
    && stralloc_cats(err, host ? host : "") && stralloc_cats(err, "?)") ;
}

static int begin (exchange *x)
{
  pop3 *p = x->p ;
  char const *mech = x->m.name ;
  char cmd[64] = "AUTH " ;
  strcat(cmd, mech) ;
  if (!(x->m.flags & SASLMECH_IR)) return send_line(p, cmd, 0, 0, 0) ;
  x->complete = saslmech_step(&x->m, "", 0, &x->out, &x->err) ;
  if (x->complete < 0)
  {
    if (!strcmp(mech, "GSSAPI") && !gssapi_hint(&x->err, x->m.a)) return pop3_nomem(p) ;
    return failed(x, EX_UNAVAILABLE, x->err.s, x->err.len, 0) ;
  }
  if (!base64_encode(&x->b64, x->out.s, x->out.len)) return pop3_nomem(p) ;
  if (strlen(cmd) + 1 + (x->b64.len ? x->b64.len : 1) + 2 <= AUTH_LINE_MAX)
  {
    x->sent = 1 ;
    return x->b64.len ? send_line(p, cmd, x->b64.s, x->b64.len, 1) : send_line(p, cmd, "=", 1, 0) ;
  }
  x->pending = 1 ;
  return send_line(p, cmd, 0, 0, 0) ;
}

 /* An OAuth challenge after the token: the server's error report (JSON,
    base64). Acknowledge it (RFC 7628: a lone 0x01; XOAUTH2: an empty
    line), then the server fails the login. */
static int oauth_error (exchange *x, char const *data, size_t len)
{
  pop3 *p = x->p ;
  stralloc json = STRALLOC_ZERO ;
  int r ;
  if (!base64_decode(&json, data, len))
  {
    json.len = 0 ;
    if (!stralloc_catb(&json, data, len)) { stralloc_free(&json) ; return pop3_nomem(p) ; }
  }
  r = x->m.flags & SASLMECH_BEARER ? send_line(p, 0, "AQ==", 4, 0) : send_line(p, 0, "", 0, 0) ;
  if (!r) r = pop3_status(p) < 0 ? p->code : 0 ;
  if (!r)
  {
    int code = p->line.s[0] == '-' ? pop3_errcode(p, EX_NOPERM) : EX_NOPERM ;
    char const *pre = "the server reports " ;
    stralloc t = STRALLOC_ZERO ;
    if (stralloc_cats(&t, pre) && stralloc_catb(&t, json.s, json.len)) r = failed(x, code, t.s, t.len, 1) ;
    else r = pop3_nomem(p) ;
    stralloc_free(&t) ;
  }
  stralloc_free(&json) ;
  return r ;
}

static int challenge (exchange *x)
{
  pop3 *p = x->p ;
  char const *data = p->line.s + 1 ;
  size_t len = p->line.len - 1 ;
  if (len) { data++ ; len-- ; }
  if (x->pending)
  {
    x->pending = 0 ;
    x->sent = 1 ;
    return send_line(p, 0, x->b64.s, x->b64.len, 1) ;
  }
  if (x->complete)
  {
    if (x->m.flags & SASLMECH_OAUTH) return oauth_error(x, data, len) ;
    return cancel(x, EX_PROTOCOL, "the server sent a challenge after the exchange was complete") ;
  }
  x->in.len = 0 ;
  if (!base64_decode(&x->in, data, len))
  {
    if (errno != EINVAL) return pop3_nomem(p) ;
    return cancel(x, EX_PROTOCOL, "the server sent a challenge that is not valid base64") ;
  }
  x->out.len = 0 ;
  x->complete = saslmech_step(&x->m, x->in.s, x->in.len, &x->out, &x->err) ;
  if (x->complete < 0) return cancel(x, EX_PROTOCOL, x->err.s) ;
  return answer(x) ;
}

static int is_continuation (stralloc const *l)
{
  return l->len && l->s[0] == '+' && (l->len == 1 || l->s[1] == ' ') ;
}

static int is_ok (stralloc const *l)
{
  return l->len >= 3 && !memcmp(l->s, "+OK", 3) ;
}

static int run (exchange *x)
{
  pop3 *p = x->p ;
  int r = begin(x) ;
  while (!r)
  {
    int s = pop3_status(p) ;
    if (s < 0) return p->code ;
    if (s && is_continuation(&p->line)) r = challenge(x) ;
    else if (s && is_ok(&p->line))
    {
      static char const early[] = "the server said +OK before the authentication exchange was complete" ;
      if (x->complete == 1 && !x->pending) return 0 ;
      return failed(x, EX_PROTOCOL, early, sizeof(early) - 1, 1) ;
    }
    else if (!x->sent)
    {
      char cmd[64] = "command AUTH " ;
      strcat(cmd, x->m.name) ;
      pop3_fail(p, pop3_errcode(p, EX_PROTOCOL), "") ;
      return pop3_failmsg(p, p->code, cmd, " failed", 0) ;
    }
    else return failed(x, pop3_errcode(p, EX_NOPERM), 0, 0, 1) ;
  }
  return r ;
}

int sasl_login (pop3 *p, char const *mech, char const *user, char const *password)
{
  exchange x = EXCHANGE_ZERO ;
  int r ;
  x.p = p ;
  r = saslmech_start(&x.m, p->a, mech, user, password, &x.err) ;
  if (r)
  {
    p->srvmsg.len = 0 ;
    r = r == EX_OSERR ? pop3_nomem(p) : pop3_failmsg(p, r, x.err.s, 0, 0) ;
  }
  else r = run(&x) ;
  saslmech_end(&x.m) ;
  secret_free(&x.out) ;
  secret_free(&x.b64) ;
  secret_free(&x.in) ;
  stralloc_free(&x.err) ;
  return r ;
}
