/* ISC license. */

 /* Test driver of the authentication code in libmpop.

    auth-test                            self-test (base64, secrets, method
                                         table); exit 0 when all pass
    auth-test login [ -d ] [ -u | -U ]   connect, log in (auth_login), QUIT;
                                         prints the method used
    auth-test password METHOD            auth_password with the account of the
                                         environment, which is left as it is
                                         (MPOP_PASSWORD stays there); prints
                                         the password's length, then it
    auth-test netrc FILE HOST USER       netrc_lookup: the password, or exit 1
    auth-test methods                    auth_methods_line()
    auth-test base64 encode|decode TEXT  base64_encode / base64_decode
    auth-test scrub                      auth_scrub_env, then print the
                                         environment and the core file limit */

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <signal.h>
#include <sysexits.h>

#include <skalibs/buffer.h>
#include <skalibs/sig.h>
#include <skalibs/stralloc.h>
#include <skalibs/tai.h>
#include <skalibs/types.h>

#include <mpop/account.h>
#include <mpop/auth.h>
#include <mpop/err.h>
#include <mpop/pop3.h>
#include <mpop/settings.h>

#define USAGE "auth-test [ login [ -d ] [ -u | -U ] | password METHOD | netrc FILE HOST USER | methods | base64 encode|decode TEXT | scrub ]"

extern char **environ ;

static void out (char const *s, size_t len)
{
  if (buffer_put(buffer_1, s, len) < 0 || !buffer_flush(buffer_1)) mpop_diesys(EX_IOERR, "cannot write to stdout") ;
}

static void outs (char const *s)
{
  out(s, strlen(s)) ;
}

static void die_session (pop3 *p)
{
  mpop_sanitize(p->msg.s, p->msg.len) ;
  if (!p->srvmsg.len) mpop_die(p->code, p->msg.s) ;
  mpop_info(p->msg.s) ;
  mpop_die(p->code, "POP3 server message: ", p->srvmsg.s) ;
}

static void get_account (account *a)
{
  stralloc err = STRALLOC_ZERO ;
  int r = account_from_env(a, &err) ;
  if (r == EX_OSERR && !err.len) mpop_dienomem() ;
  if (r) mpop_die(r, err.s) ;
  stralloc_free(&err) ;
}

static int login (int argc, char const *const *argv)
{
  account a = { 0 } ;
  pop3 p = POP3_ZERO ;
  unsigned int flags = 0 ;
  char const *m ;
  for (int i = 0 ; i < argc ; i++)
  {
    if (!strcmp(argv[i], "-d")) p.trace = &pop3_trace_stderr ;
    else if (!strcmp(argv[i], "-u")) flags |= POP3_UCSPI ;
    else if (!strcmp(argv[i], "-U")) flags |= POP3_UCSPI | POP3_SECURED ;
    else mpop_dieusage(USAGE) ;
  }
  get_account(&a) ;
  auth_scrub_env() ;
  if (pop3_open(&p, &a, flags)) die_session(&p) ;
  if (auth_login(&p)) die_session(&p) ;
  m = pop3_auth_method(&p) ;
  outs(m ? m : "?") ; outs("\n") ;
  if (pop3_quit(&p)) die_session(&p) ;
  pop3_free(&p) ;
  account_free(&a) ;
  return 0 ;
}

static int password (char const *method)
{
  account a = { 0 } ;
  stralloc pw = STRALLOC_ZERO, err = STRALLOC_ZERO ;
  char fmt[SIZE_FMT] ;
  int r ;
  get_account(&a) ;
  r = auth_password(&a, method, &pw, &err) ;
  if (r == EX_OSERR && !err.len) mpop_dienomem() ;
  if (r) mpop_die(r, err.s) ;
  fmt[size_fmt(fmt, pw.len)] = 0 ;
  outs(fmt) ; outs("\n") ;
  out(pw.s ? pw.s : "", pw.len) ; outs("\n") ;
  secret_free(&pw) ;
  stralloc_free(&err) ;
  account_free(&a) ;
  return 0 ;
}

static int netrc (char const *file, char const *host, char const *user)
{
  stralloc pw = STRALLOC_ZERO ;
  int r = netrc_lookup(file, host, user, &pw) ;
  if (r < 0) mpop_diesys(EX_IOERR, "cannot read ", file) ;
  if (!r) return 1 ;
  out(pw.s, pw.len) ; outs("\n") ;
  secret_free(&pw) ;
  return 0 ;
}

static int base64 (char const *how, char const *text)
{
  stralloc sa = STRALLOC_ZERO ;
  int ok = !strcmp(how, "encode") ? base64_encode(&sa, text, strlen(text)) : base64_decode(&sa, text, strlen(text)) ;
  if (!ok) mpop_die(EX_DATAERR, "invalid base64") ;
  out(sa.s, sa.len) ; outs("\n") ;
  secret_free(&sa) ;
  return 0 ;
}

static int scrub (void)
{
  struct rlimit rl ;
  char fmt[ULONG_FMT] ;
  auth_scrub_env() ;
  for (char **e = environ ; *e ; e++) { outs(*e) ; outs("\n") ; }
  if (getrlimit(RLIMIT_CORE, &rl) < 0) mpop_diesys(EX_OSERR, "getrlimit") ;
  fmt[ulong_fmt(fmt, rl.rlim_cur)] = 0 ;
  outs("core ") ; outs(fmt) ; outs("\n") ;
  return 0 ;
}

static unsigned int failures = 0 ;

static void fail (char const *what, char const *a, char const *b)
{
  failures++ ;
  buffer_puts(buffer_2, "FAIL ") ; buffer_puts(buffer_2, what) ; buffer_puts(buffer_2, " [") ;
  buffer_puts(buffer_2, a) ; buffer_puts(buffer_2, "] [") ; buffer_puts(buffer_2, b) ; buffer_putsflush(buffer_2, "]\n") ;
}

static void check_b64 (char const *plain, size_t len, char const *enc)
{
  stralloc sa = STRALLOC_ZERO ;
  if (!base64_encode(&sa, plain, len) || sa.len != strlen(enc) || memcmp(sa.s, enc, sa.len) || sa.s[sa.len])
    fail("base64_encode", plain, enc) ;
  sa.len = 0 ;
  if (!base64_decode(&sa, enc, strlen(enc)) || sa.len != len || memcmp(sa.s, plain, len))
    fail("base64_decode", enc, plain) ;
  secret_free(&sa) ;
}

static void check_b64_bad (char const *enc)
{
  stralloc sa = STRALLOC_ZERO ;
  if (base64_decode(&sa, enc, strlen(enc))) fail("base64_decode accepted", enc, "") ;
  secret_free(&sa) ;
}

static void check_b64_lenient (char const *enc, char const *plain)
{
  stralloc sa = STRALLOC_ZERO ;
  if (!base64_decode(&sa, enc, strlen(enc)) || sa.len != strlen(plain) || memcmp(sa.s, plain, sa.len))
    fail("base64_decode unpadded", enc, plain) ;
  secret_free(&sa) ;
}

static int selftest (void)
{
  stralloc sa = STRALLOC_ZERO ;
  check_b64("", 0, "") ;
  check_b64("f", 1, "Zg==") ;
  check_b64("fo", 2, "Zm8=") ;
  check_b64("foo", 3, "Zm9v") ;
  check_b64("foob", 4, "Zm9vYg==") ;
  check_b64("fooba", 5, "Zm9vYmE=") ;
  check_b64("foobar", 6, "Zm9vYmFy") ;
  check_b64("\0u\0p", 4, "AHUAcA==") ;
  check_b64("\xff\xfe\xfd", 3, "//79") ;
  check_b64("n,a=u,\001auth=Bearer T\001\001", 22, "bixhPXUsAWF1dGg9QmVhcmVyIFQBAQ==") ;
  check_b64_lenient("Zg", "f") ;
  check_b64_lenient("Zm8", "fo") ;
  check_b64_bad("Z") ;
  check_b64_bad("Zm9vY") ;
  check_b64_bad("Zm9v!A==") ;
  check_b64_bad("Zm=v") ;
  check_b64_bad("Zg===") ;
  check_b64_bad("=Zg=") ;
  check_b64_bad("Zg= =") ;
  check_b64_bad("Zm 9v") ;
  check_b64_bad("Zm9v\r") ;
  for (unsigned int i = 0 ; i < 5000 ; i++)
    if (!secret_catb(&sa, i % 2 ? "ab" : "c", i % 2 ? 2 : 1)) mpop_dienomem() ;
  if (sa.len != 7500 || sa.s[sa.len] || memcmp(sa.s, "cabcab", 6) || memcmp(sa.s + 7497, "cab", 3))
    fail("secret_catb", "", "") ;
  secret_free(&sa) ;
  if (sa.s || sa.len || sa.a) fail("secret_free", "", "") ;
  if (auth_needs_user("external") || !auth_needs_user("gssapi") || !auth_needs_user("user")) fail("auth_needs_user", "", "") ;
  if (auth_needs_password("external") || auth_needs_password("gssapi") || !auth_needs_password("xoauth2")
   || !auth_needs_password("scram-sha-256")) fail("auth_needs_password", "", "") ;
  if (!sasl_supports("OAUTHBEARER") || !sasl_supports("XOAUTH2") || !sasl_supports("PLAIN")
   || sasl_supports("SCRAM-SHA-256-PLUS") || sasl_supports("SCRAM-SHA-1-PLUS") || sasl_supports("ANONYMOUS")
   || sasl_supports("NOSUCH"))
    fail("sasl_supports", "", "") ;
  if (!auth_method_supported("user") || !auth_method_supported("apop") || auth_method_supported("scram-sha-256-plus"))
    fail("auth_method_supported", "", "") ;
  {
    char const *line = auth_methods_line() ;
    size_t n = strlen(line) ;
    if (!n || line[n - 1] != ' ' || strncmp(line, "scram-sha-256 scram-sha-1 plain apop user ", 42) || strstr(line, "-plus"))
      fail("auth_methods_line", line, "") ;
  }
  return !!failures ;
}

int main (int argc, char const *const *argv)
{
  PROG = "auth-test" ;
  sig_ignore(SIGPIPE) ;
  tain_now_set_stopwatch_g() ;
  if (argc < 2) return selftest() ;
  if (!strcmp(argv[1], "login")) return login(argc - 2, argv + 2) ;
  if (!strcmp(argv[1], "password") && argc == 3) return password(argv[2]) ;
  if (!strcmp(argv[1], "netrc") && argc == 5) return netrc(argv[2], argv[3], argv[4]) ;
  if (!strcmp(argv[1], "methods") && argc == 2) { outs(auth_methods_line()) ; outs("\n") ; return 0 ; }
  if (!strcmp(argv[1], "base64") && argc == 4) return base64(argv[2], argv[3]) ;
  if (!strcmp(argv[1], "scrub") && argc == 2) return scrub() ;
  mpop_dieusage(USAGE) ;
}
