/* ISC license. */

 /* Unit test of the POP3 client core against canned server bytes: status
    lines and response codes, bounded lines, CAPA parsing, multi-line
    replies, body streaming (dot-unstuffing and CRLF across every chunk
    size), EOF, the APOP timestamp of the greeting, APOP, pipelined
    USER/PASS and the trace masking. The "server" is a file read through
    the connection; what the client sends goes to another file. */

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sysexits.h>

#include <skalibs/buffer.h>
#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/tai.h>
#include <skalibs/types.h>

#include <mpop/account.h>
#include <mpop/pop3.h>
#include <mpop/settings.h>

static unsigned int failures = 0 ;
static char tmpin[256] ;
static char tmpout[256] ;
static stralloc traced = STRALLOC_ZERO ;

static void fail (char const *what, char const *detail)
{
  failures++ ;
  buffer_puts(buffer_2, "FAIL ") ;
  buffer_puts(buffer_2, what) ;
  if (detail) { buffer_puts(buffer_2, ": ") ; buffer_puts(buffer_2, detail) ; }
  buffer_putsflush(buffer_2, "\n") ;
}

#define CHECK(cond, what, detail) do { if (!(cond)) fail(what, detail) ; } while (0)

static void trace (pop3 *p, int dir, char const *line, size_t len)
{
  (void)p ;
  stralloc_cats(&traced, dir == POP3_TRACE_IN ? "<-- " : "--> ") ;
  stralloc_catb(&traced, line, len) ;
  stralloc_catb(&traced, "\n", 1) ;
  stralloc_0(&traced) ;
  traced.len-- ;
}

 /* A session whose server says data (len bytes) */
static void session (pop3 *p, account *a, char const *data, size_t len)
{
  if (!openwritenclose_unsafe(tmpin, data, len)) strerr_diefu2sys(EX_OSERR, "write ", tmpin) ;
  *p = (pop3)POP3_ZERO ;
  p->a = a ;
  p->c.rfd = open_read(tmpin) ;
  p->c.wfd = open_trunc(tmpout) ;
  if (p->c.rfd < 0 || p->c.wfd < 0) strerr_diefu1sys(EX_OSERR, "open temporary files") ;
  p->c.timeout = tain_infinite_relative ;
  p->trace = &trace ;
  traced.len = 0 ;
  stralloc_0(&traced) ;
  traced.len = 0 ;
}

static void sent (stralloc *sa)
{
  sa->len = 0 ;
  if (!openslurpclose(sa, tmpout) || !stralloc_0(sa)) strerr_diefu1sys(EX_OSERR, "read output") ;
}

static void test_status (account *a)
{
  pop3 p ;
  static char const data[] = "+OK hi\r\n-ERR [IN-USE] locked\r\n-ERR [SYS/PERM] gone\r\n-ERR [AUTH] no\r\n-ERR plain\r\n+\r\nIMAP\r\n" ;
  session(&p, a, data, sizeof(data) - 1) ;
  CHECK(pop3_status(&p) == 1 && !strcmp(p.line.s, "+OK hi"), "status +OK", p.line.s) ;
  CHECK(pop3_status(&p) == 0 && pop3_errcode(&p, 77) == EX_TEMPFAIL, "[IN-USE] is 75", p.line.s) ;
  CHECK(!strcmp(p.srvmsg.s, "-ERR [IN-USE] locked"), "server message kept", p.srvmsg.s) ;
  CHECK(pop3_status(&p) == 0 && pop3_errcode(&p, 77) == EX_UNAVAILABLE, "[SYS/PERM] is 69", p.line.s) ;
  CHECK(pop3_status(&p) == 0 && pop3_errcode(&p, 70) == EX_NOPERM, "[AUTH] is 77", p.line.s) ;
  CHECK(pop3_status(&p) == 0 && pop3_errcode(&p, 70) == 70, "no code: default", p.line.s) ;
  CHECK(pop3_status(&p) == 1, "a bare + is accepted (mpop 1.4.22+)", p.line.s) ;
  CHECK(pop3_status(&p) == -1 && p.code == EX_PROTOCOL, "garbage is a protocol error", p.msg.s) ;
  CHECK(pop3_status(&p) == -1 && p.code == EX_IOERR && strstr(p.msg.s, "closed the connection"), "EOF is an error", p.msg.s) ;
  pop3_free(&p) ;
}

static void test_long_line (account *a)
{
  pop3 p ;
  size_t n = 1 << 20 ;
  char *big = malloc(n + 6) ;
  if (!big) strerr_diefu1sys(EX_OSERR, "malloc") ;
  memcpy(big, "+OK ", 4) ;
  memset(big + 4, 'x', n) ;
  memcpy(big + 4 + n, "\r\n", 2) ;
  session(&p, a, big, n + 6) ;
  CHECK(pop3_status(&p) == -1 && p.code == EX_PROTOCOL && strstr(p.msg.s, "longer than"), "1 MB status line refused", p.msg.s) ;
  pop3_free(&p) ;
  memcpy(big, "+OK\r\n", 5) ;
  session(&p, a, big, n + 6) ;
  {
    stralloc line = STRALLOC_ZERO ;
    CHECK(pop3_status(&p) == 1, "+OK before a long list line", 0) ;
    CHECK(pop3_getline(&p, &line) == -1 && p.code == EX_PROTOCOL, "1 MB list line refused", p.msg.s) ;
    stralloc_free(&line) ;
  }
  pop3_free(&p) ;
  free(big) ;
}

static void test_capa (account *a)
{
  pop3 p ;
  static char const data[] = "+OK\r\nTOPX\r\nuidl\r\nUSERS\r\nSASL plain  SCRAM-SHA-1 x-plaintext\r\nIMPLEMENTATION  Foo\tbar 1\r\n"
    "LOGIN-DELAY 900 USER\r\nEXPIRE NEVER\r\nPIPELINING\r\n..odd\r\n.\r\n-ERR no CAPA after login\r\n" ;
  session(&p, a, data, sizeof(data) - 1) ;
  CHECK(!pop3_capa(&p), "CAPA parses", p.msg.s) ;
  CHECK(p.caps & POP3_CAP_CAPA, "CAPA worked", 0) ;
  CHECK(!(p.caps & POP3_CAP_TOP), "TOPX is not TOP", 0) ;
  CHECK(!(p.caps & POP3_CAP_USER), "USERS is not USER", 0) ;
  CHECK(p.caps & POP3_CAP_UIDL, "uidl in lower case", 0) ;
  CHECK(p.sasl.s && !strcmp(p.sasl.s, "PLAIN SCRAM-SHA-1 X-PLAINTEXT"), "SASL list", p.sasl.s) ;
  CHECK(p.implementation.s && !strcmp(p.implementation.s, "Foo?bar 1"), "IMPLEMENTATION", p.implementation.s) ;
  CHECK(p.caps & POP3_CAP_LOGIN_DELAY && p.login_delay == 900, "LOGIN-DELAY", 0) ;
  CHECK(p.caps & POP3_CAP_EXPIRE && p.expire == POP3_EXPIRE_NEVER, "EXPIRE NEVER", 0) ;
  CHECK(p.pipelining == 1, "pipelining auto becomes on", 0) ;
  CHECK(!pop3_capa_more(&p) && p.caps & POP3_CAP_UIDL && p.caps & POP3_CAP_PIPELINING, "a failed CAPA after login keeps what was known", 0) ;
  pop3_free(&p) ;
}

 /* The body in every chunk size gives the same bytes */
static void test_body (account *a)
{
  static char const data[] = "+OK\r\nline1\r\n..dot\r\n..\r\n\r\nbare\rcr\r\nlf only\n.x\r\n\r\n.\r\n+OK next\r\n" ;
  static char const want[] = "line1\n.dot\n.\n\nbare\rcr\nlf only\nx\n\n" ;
  for (size_t max = 1 ; max <= 40 ; max++)
  {
    pop3 p ;
    stralloc got = STRALLOC_ZERO ;
    char buf[64] ;
    ssize_t r ;
    session(&p, a, data, sizeof(data) - 1) ;
    CHECK(pop3_status(&p) == 1, "body: status", 0) ;
    pop3_body_start(&p) ;
    while ((r = pop3_body_read(&p, buf, max)) > 0)
    {
      if ((size_t)r > max) fail("body: chunk larger than max", 0) ;
      stralloc_catb(&got, buf, r) ;
    }
    stralloc_0(&got) ;
    CHECK(!r, "body: ends at the dot", p.msg.s) ;
    CHECK(!strcmp(got.s, want), "body: unstuffed, LF line ends", got.s) ;
    CHECK(pop3_body_read(&p, buf, max) == 0, "body: stays ended", 0) ;
    CHECK(pop3_status(&p) == 1 && !strcmp(p.line.s, "+OK next"), "body: next reply intact", p.line.s) ;
    CHECK(!strstr(traced.s, "line1"), "body lines are not traced", 0) ;
    stralloc_free(&got) ;
    pop3_free(&p) ;
  }
}

 /* The dot consumed with the last data: pending until the 0 is read */
static void test_body_pending (account *a)
{
  static char const data[] = "+OK\r\nline1\r\n.\r\n" ;
  pop3 p ;
  char buf[64] ;
  session(&p, a, data, sizeof(data) - 1) ;
  CHECK(pop3_status(&p) == 1, "body pending: status", 0) ;
  pop3_body_start(&p) ;
  CHECK(pop3_body_read(&p, buf, sizeof(buf)) == 6 && !memcmp(buf, "line1\n", 6), "body pending: data with the dot", 0) ;
  CHECK(p.inpos == p.inlen, "body pending: nothing left buffered", 0) ;
  CHECK(pop3_pending(&p), "body pending: the end is pending", 0) ;
  CHECK(pop3_body_read(&p, buf, sizeof(buf)) == 0, "body pending: the end without the network", 0) ;
  CHECK(!pop3_pending(&p), "body pending: nothing pending after the end", 0) ;
  pop3_free(&p) ;
}

static void test_body_eof (account *a)
{
  static char const data[] = "+OK\r\nline1\r\nline2 without end" ;
  pop3 p ;
  char buf[64] ;
  ssize_t r ;
  session(&p, a, data, sizeof(data) - 1) ;
  pop3_status(&p) ;
  pop3_body_start(&p) ;
  while ((r = pop3_body_read(&p, buf, sizeof(buf))) > 0) ;
  CHECK(r == -1 && p.code == EX_IOERR, "body: EOF mid-message is an error", p.msg.s) ;
  pop3_free(&p) ;
}

 /* The greeting through pop3_open, on UCSPI descriptors 6 and 7 */
static void greeting (account *a, char const *data, size_t len, char const *want)
{
  pop3 p ;
  session(&p, a, data, len) ;
  {
    int r = fcntl(p.c.rfd, F_DUPFD, 8), w = fcntl(p.c.wfd, F_DUPFD, 8) ;
    if (r < 0 || w < 0) strerr_diefu1sys(EX_OSERR, "duplicate descriptors") ;
    fd_close(p.c.rfd) ;
    fd_close(p.c.wfd) ;
    if (fd_move(6, r) < 0 || fd_move(7, w) < 0) strerr_diefu1sys(EX_OSERR, "move descriptors to 6 and 7") ;
  }
  p.c.rfd = p.c.wfd = -1 ;
  CHECK(!pop3_open(&p, a, POP3_UCSPI), "greeting: pop3_open", p.msg.s) ;
  if (want) CHECK(p.caps & POP3_CAP_APOP && p.timestamp.len == strlen(want) && !memcmp(p.timestamp.s, want, p.timestamp.len), "APOP timestamp kept", want) ;
  else CHECK(!(p.caps & POP3_CAP_APOP) && !p.timestamp.len, "no APOP timestamp", data) ;
  pop3_free(&p) ;
}

#define GREETING(a, lit, want) greeting(a, lit, sizeof(lit) - 1, want)

static void test_greeting (account *a)
{
  GREETING(a, "+OK POP3 ready <1896.697170952@dbc.mtview.ca.us>\r\n-ERR\r\n", "<1896.697170952@dbc.mtview.ca.us>") ;
  GREETING(a, "+OK Dovecot ready. <4d1.2.5f9b8e0c.Ab+/=@host>\r\n-ERR\r\n", "<4d1.2.5f9b8e0c.Ab+/=@host>") ;
  GREETING(a, "+OK > ready <x@y> <z@w>\r\n-ERR\r\n", "<x@y>") ;
  GREETING(a, "+OK <a b@h>\r\n-ERR\r\n", 0) ;

   /* every atext special is kept, with dots and several '@' */
  GREETING(a, "+OK <!#$%&'*+/=?^_`{|}~-.@x@y>\r\n-ERR\r\n", "<!#$%&'*+/=?^_`{|}~-.@x@y>") ;

   /* a NUL byte anywhere between the brackets, or before them */
  GREETING(a, "+OK <12\0\0@d>\r\n-ERR\r\n", 0) ;
  GREETING(a, "+OK <\0@d>\r\n-ERR\r\n", 0) ;
  GREETING(a, "+OK <1@d\0>\r\n-ERR\r\n", 0) ;
  GREETING(a, "+OK \0 <1@d>\r\n-ERR\r\n", "<1@d>") ;

   /* specials of RFC 5322 that are not atext, control and 8-bit bytes */
  GREETING(a, "+OK <a\"b@h>\r\n-ERR\r\n", 0) ;
  GREETING(a, "+OK <a(b)@h>\r\n-ERR\r\n", 0) ;
  GREETING(a, "+OK <a,b@h>\r\n-ERR\r\n", 0) ;
  GREETING(a, "+OK <a;b@h>\r\n-ERR\r\n", 0) ;
  GREETING(a, "+OK <a:b@h>\r\n-ERR\r\n", 0) ;
  GREETING(a, "+OK <a\\b@h>\r\n-ERR\r\n", 0) ;
  GREETING(a, "+OK <a[b]@h>\r\n-ERR\r\n", 0) ;
  GREETING(a, "+OK <a<b@h>\r\n-ERR\r\n", 0) ;
  GREETING(a, "+OK <a\tb@h>\r\n-ERR\r\n", 0) ;
  GREETING(a, "+OK <a\001b@h>\r\n-ERR\r\n", 0) ;
  GREETING(a, "+OK <caf\xc3\xa9@h>\r\n-ERR\r\n", 0) ;

   /* no '@', nothing between the brackets, no '>' */
  GREETING(a, "+OK <1896.697170952>\r\n-ERR\r\n", 0) ;
  GREETING(a, "+OK <>\r\n-ERR\r\n", 0) ;
  GREETING(a, "+OK ready <1896.697170952@dbc\r\n-ERR\r\n", 0) ;
  GREETING(a, "+OK ready <\r\n-ERR\r\n", 0) ;
  GREETING(a, "+OK ready @ >\r\n-ERR\r\n", 0) ;
}

static void test_apop (account *a)
{
  static char const data[] = "+OK maildrop has 1 message\r\n" ;
  stralloc out = STRALLOC_ZERO ;
  pop3 p ;
  a->v[S_AUTH] = "apop" ;
  session(&p, a, data, sizeof(data) - 1) ;
  stralloc_copys(&p.timestamp, "<1896.697170952@dbc.mtview.ca.us>") ;
  p.caps = POP3_CAP_APOP ;
  CHECK(!pop3_login(&p, "mrose", "tanstaaf"), "APOP login", p.msg.s) ;
  sent(&out) ;
  CHECK(!strcmp(out.s, "APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n"), "APOP digest (RFC 1939)", out.s) ;
  CHECK(strstr(traced.s, "--> APOP mrose ********\n") && !strstr(traced.s, "c4c9"), "APOP digest masked in the trace", traced.s) ;
  pop3_free(&p) ;
  stralloc_free(&out) ;
}

static void test_user_pipelined (account *a)
{
  static char const data[] = "+OK\r\n-ERR [AUTH] bad password\r\n" ;
  stralloc out = STRALLOC_ZERO ;
  pop3 p ;
  a->v[S_AUTH] = "user" ;
  session(&p, a, data, sizeof(data) - 1) ;
  p.pipelining = 1 ;
  CHECK(pop3_login(&p, "joe", "s3cret") == EX_NOPERM, "USER/PASS refused: 77", p.msg.s) ;
  CHECK(!strcmp(p.msg.s, "authentication failed (method USER)"), "auth failure message", p.msg.s) ;
  CHECK(!strcmp(p.srvmsg.s, "-ERR [AUTH] bad password"), "auth failure server message", p.srvmsg.s) ;
  sent(&out) ;
  CHECK(!strcmp(out.s, "USER joe\r\nPASS s3cret\r\n"), "USER and PASS sent together", out.s) ;
  CHECK(!strstr(traced.s, "s3cret") && strstr(traced.s, "--> PASS ********\n"), "password masked in the trace", traced.s) ;
  pop3_free(&p) ;
  stralloc_free(&out) ;
}

static void test_auth_choice (account *a)
{
  pop3 p ;
  a->v[S_AUTH] = "on" ;
  session(&p, a, "", 0) ;
  CHECK(!pop3_auth_method(&p) && p.code == EX_UNAVAILABLE, "no secure method in clear text", p.msg.s) ;
  p.secured = 1 ;
  CHECK(pop3_auth_method(&p) && !strcmp(pop3_auth_method(&p), "user"), "USER under TLS", 0) ;
  p.caps |= POP3_CAP_APOP ;
  CHECK(!strcmp(pop3_auth_method(&p), "apop"), "APOP before USER under TLS", 0) ;
  a->v[S_AUTH] = "cram-md5" ;
  CHECK(!pop3_auth_method(&p) && strstr(p.msg.s, "not compiled in"), "SASL without the hook", p.msg.s) ;
  CHECK(pop3_queue(&p, "USER", "a\r\nDELE 1") == EX_DATAERR, "line breaks in arguments refused", 0) ;
  traced.len = 0 ;
  CHECK(!pop3_queue_secret(&p, "dG9rZW4=", 0) && !pop3_queue_secret(&p, "AUTH PLAIN", "AGpvZQBzZWNyZXQ="), "secret lines", 0) ;
  stralloc_0(&traced) ;
  CHECK(!strcmp(traced.s, "--> ********\n--> AUTH PLAIN ********\n"), "SASL payloads masked in the trace", traced.s) ;
  pop3_free(&p) ;
}

int main (void)
{
  account a = { 0 } ;
  char const *dir = getenv("TMPDIR") ;
  char pid[PID_FMT] ;
  PROG = "pop3-test" ;
  pid[pid_fmt(pid, getpid())] = 0 ;
  if (!dir || !*dir || strlen(dir) > 200) dir = "/tmp" ;
  strcpy(tmpin, dir) ; strcat(tmpin, "/pop3-test.in.") ; strcat(tmpin, pid) ;
  strcpy(tmpout, dir) ; strcat(tmpout, "/pop3-test.out.") ; strcat(tmpout, pid) ;
  tain_now_set_stopwatch_g() ;
  a.v[S_PIPELINING] = "auto" ;
  test_status(&a) ;
  test_long_line(&a) ;
  test_capa(&a) ;
  test_body(&a) ;
  test_body_pending(&a) ;
  test_body_eof(&a) ;
  test_greeting(&a) ;
  test_apop(&a) ;
  test_user_pipelined(&a) ;
  test_auth_choice(&a) ;
  unlink(tmpin) ;
  unlink(tmpout) ;
  stralloc_free(&traced) ;
  if (failures) strerr_dief1x(1, "some tests failed") ;
  return 0 ;
}
