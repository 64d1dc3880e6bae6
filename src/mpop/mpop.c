/* ISC license. */

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <skalibs/buffer.h>
#include <skalibs/bytestr.h>
#include <skalibs/djbunix.h>
#include <skalibs/env.h>
#include <skalibs/exec.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>

#include <mpop/account.h>
#include <mpop/auth.h>
#include <mpop/binpath.h>
#include <mpop/config.h>
#include <mpop/err.h>
#include <mpop/settings.h>

#include "configure.h"
#include "options.h"

extern char **environ ;

 /* SIGINT, SIGTERM and SIGHUP go to the running child, which aborts as
    mpop does; mpop then waits for it and processes no further account. */
static volatile sig_atomic_t child = 0 ;
static volatile sig_atomic_t caught = 0 ;

static void forward (int sig)
{
  caught = sig ;
  if (child > 0) kill((pid_t)child, sig) ;
}

static void signals_forward (void)
{
  struct sigaction sa ;
  memset(&sa, 0, sizeof(sa)) ;
  sa.sa_handler = &forward ;
  sigemptyset(&sa.sa_mask) ;
  sigaddset(&sa.sa_mask, SIGINT) ;
  sigaddset(&sa.sa_mask, SIGTERM) ;
  sigaddset(&sa.sa_mask, SIGHUP) ;
  if (sigaction(SIGINT, &sa, 0) < 0 || sigaction(SIGTERM, &sa, 0) < 0 || sigaction(SIGHUP, &sa, 0) < 0)
    mpop_diesys(EX_OSERR, "cannot install signal handlers") ;
}

 /* --serverinfo installs no handler in mpop: after its child, mpop dies
    of the signal */
static void signals_die (void)
{
  int sig = caught ;
  if (!sig) return ;
  signal(sig, SIG_DFL) ;
  raise(sig) ;
}

static void die_err (int code, stralloc *err)
{
  if (code == EX_OSERR && !err->len) mpop_dienomem() ;
  mpop_die(code, err->s) ;
}

static void put (char const *s)
{
  if (buffer_puts(buffer_1, s) < 0) mpop_diesys(EX_IOERR, "cannot write to stdout") ;
}

static void flush (void)
{
  if (!buffer_flush(buffer_1)) mpop_diesys(EX_IOERR, "cannot write to stdout") ;
}

static void print_version (void)
{
  stralloc cf = STRALLOC_ZERO ;
  char const *home = mpop_home() ;
  if (!rcfile_default(&cf)) mpop_dienomem() ;
  put("mpop version " MPOP_VERSION " (mpop-toolkit; compatible with mpop 1.4.23)\n"
      "Platform: " MPOP_PLATFORM "\n"
      "TLS/SSL library: BearSSL " MPOP_BEARSSL_VERSION "\n"
      "Authentication library: GNU SASL ") ;
  put(auth_library_version()) ;
  put("; user, apop, oauthbearer, xoauth2: built-in\n"
      "Supported authentication methods:\n") ;
  put(options_auth_methods()) ;
  put("\nIDN support: disabled\nNLS: disabled\nKeyring support: secret-tool (libsecret), when installed\n"
      "Configuration file name: ") ;
  if (*home && !strncmp(cf.s, home, strlen(home))) { put("~") ; put(cf.s + strlen(home)) ; }
  else put(cf.s) ;
  put("\n") ;
  stralloc_free(&cf) ;
}

static account **select_accounts (rcfile const *rc, options const *o, unsigned int *n)
{
  account **sel = malloc(sizeof(account *) * (rc->n + o->naccounts + 1)) ;
  if (!sel) mpop_dienomem() ;
  if (o->all)
  {
    if (!rc->n) mpop_die(EX_CONFIG, rc->file, ": no accounts defined") ;
    for (unsigned int i = 0 ; i < rc->n ; i++) sel[i] = rc->accounts + i ;
    *n = rc->n ;
    return sel ;
  }
  if (!o->naccounts)
  {
    sel[0] = rcfile_account(rc, "default") ;
    if (!sel[0]) mpop_die(EX_CONFIG, rc->file, ": no account default") ;
    *n = 1 ;
    return sel ;
  }
  for (unsigned int i = 0 ; i < o->naccounts ; i++)
  {
    sel[i] = rcfile_account(rc, o->accounts[i]) ;
    if (!sel[i]) mpop_die(EX_CONFIG, rc->file, ": no account ", o->accounts[i]) ;
  }
  *n = o->naccounts ;
  return sel ;
}

 /* Overrides, defaults, checks: all before any network activity, as mpop */
static void prepare (account *a, options const *o, char const *file, int mode)
{
  stralloc err = STRALLOC_ZERO ;
  int r ;
  if (!account_copy_from(a, &o->cli, 1)) mpop_dienomem() ;
  if (o->pretend || o->debug)
  {
    r = account_passwordeval(a, &err) ;
    if (r) die_err(r, &err) ;
  }
  r = account_complete(a, file, mode, &err) ;
  if (r) die_err(r, &err) ;
  stralloc_free(&err) ;
}

static void binpath (stralloc *sa, char const *argv0, char const *prog)
{
  if (!mpop_binpath(sa, argv0, prog)) mpop_dienomem() ;
}

 /* --mda: one message from stdin, delivered by mdeliver in single-message
    mode; no configuration file, no other setting */
static void mda_mode (options const *o, char const *argv0)
{
  char const *delivery = o->cli.v[S_DELIVERY] ;
  char const *space ;
  stralloc prog = STRALLOC_ZERO ;
  stralloc method = STRALLOC_ZERO ;
  char const *argv[7] ;
  if (!delivery) mpop_die(EX_USAGE, "--mda requires --delivery") ;
  if (o->naccounts > 1) mpop_die(EX_USAGE, "--mda takes at most one argument, the envelope sender") ;
  space = strchr(delivery, ' ') ;
  if (!stralloc_catb(&method, delivery, space - delivery) || !stralloc_0(&method)) mpop_dienomem() ;
  binpath(&prog, argv0, "mdeliver") ;
  argv[0] = prog.s ;
  argv[1] = "-1" ;
  argv[2] = "-f" ;
  argv[3] = o->naccounts ? o->accounts[0] : "MAILER-DAEMON" ;
  argv[4] = method.s ;
  argv[5] = space + 1 ;
  argv[6] = 0 ;
  exec(argv) ;
  mpop_diesys(errno == ENOENT ? EX_UNAVAILABLE : EX_OSERR, "cannot execute ", argv[0]) ;
}

 /* One account's session: pop3info, or pop3fetch feeding mdeliver */
static int run_account (account const *a, options const *o, char const *file, char const *argv0)
{
  stralloc modifs = STRALLOC_ZERO ;
  stralloc prog = STRALLOC_ZERO ;
  stralloc deliverer = STRALLOC_ZERO ;
  char const *argv[11] ;
  unsigned int n = 0 ;
  size_t envlen = env_len((char const *const *)environ) ;
  pid_t pid ;
  int wstat ;
  if (!account_envmodifs(&modifs, a, file) || !env_addmodif(&modifs, "MPOP_PROG", PROG)) mpop_dienomem() ;
  binpath(&prog, argv0, o->serverinfo ? "pop3info" : "pop3fetch") ;
  argv[n++] = prog.s ;
  if (o->debug) argv[n++] = "-d" ;
  if (!o->serverinfo)
  {
    if (o->quiet) argv[n++] = "-q" ;
    else if (o->halfquiet) argv[n++] = "-Q" ;
    if (o->statusonly) argv[n++] = "-s" ;
    if (o->authonly) argv[n++] = "-A" ;
    if (o->adopt) argv[n++] = "-m" ;
    if (o->fulluidl) argv[n++] = "-F" ;
    binpath(&deliverer, argv0, "mdeliver") ;
    argv[n++] = deliverer.s ;
    argv[n++] = "-q" ;
  }
  argv[n] = 0 ;
  {
    char const *newenv[envlen + byte_count(modifs.s, modifs.len, '\0') + 1] ;
    env_merge(newenv, envlen + byte_count(modifs.s, modifs.len, '\0') + 1, (char const *const *)environ, envlen, modifs.s, modifs.len) ;
    pid = child_spawn0(argv[0], argv, newenv) ;
  }
  child = pid ;
  if (pid && caught) kill(pid, caught) ;
  if (!pid)
  {
    mpop_infosys("cannot run ", argv[0]) ;
    wstat = EX_UNAVAILABLE ;
  }
  else if (wait_pid(pid, &wstat) < 0) mpop_diesys(EX_OSERR, "cannot wait for ", argv[0]) ;
  else wstat = wait_estatus(wstat) ;
  child = 0 ;
  if (o->serverinfo) signals_die() ;
  stralloc_free(&modifs) ;
  stralloc_free(&prog) ;
  stralloc_free(&deliverer) ;
  return wstat ;
}

int main (int argc, char const *const *argv)
{
  options o = OPTIONS_ZERO ;
  rcfile rc = RCFILE_ZERO ;
  stralloc path = STRALLOC_ZERO ;
  stralloc err = STRALLOC_ZERO ;
  account **sel ;
  char const *names[argc] ;
  account hostacct = { 0 } ;
  account *hostsel[1] = { &hostacct } ;
  unsigned int n, failed = 0 ;
  int mode, code = 0 ;
  char const *file = 0 ;
  PROG = "mpop" ;

  o.accounts = names ;
  options_parse(&o, argc, argv) ;
  if (o.version) print_version() ;
  if (o.help) put(options_help()) ;
  if (o.configure) { flush() ; account_free(&o.cli) ; return configure(o.configure, o.file) ; }
  if (o.version || o.help) { flush() ; account_free(&o.cli) ; return 0 ; }
  if (o.mda) mda_mode(&o, argv[0]) ;
  mode = o.serverinfo ? AM_SERVERINFO : AM_RETRIEVE ;
  if (o.adopt && (o.serverinfo || o.statusonly || o.authonly))
    mpop_die(EX_USAGE, "cannot use --adopt with --serverinfo, --status-only or --auth-only") ;

  if (o.hostmode)
  {
    if (o.all || o.naccounts) mpop_die(EX_USAGE, "cannot use both --host and accounts") ;
    sel = hostsel ;
    n = 1 ;
  }
  else
  {
    int r ;
    if (o.all && o.naccounts) mpop_die(EX_USAGE, "cannot use both --all-accounts and a list of accounts") ;
    if (o.file) file = o.file ;
    else
    {
      if (!rcfile_default(&path)) mpop_dienomem() ;
      file = path.s ;
    }
    r = rcfile_read(&rc, file, &err) ;
    if (r) die_err(r, &err) ;
    sel = select_accounts(&rc, &o, &n) ;
  }
  for (unsigned int i = 0 ; i < n ; i++) prepare(sel[i], &o, file, mode) ;

  if (o.pretend)
  {
    for (unsigned int i = 0 ; i < n ; i++)
      if (!account_pretend(buffer_1, sel[i], file, mode)) mpop_diesys(EX_IOERR, "cannot write to stdout") ;
    flush() ;
    goto end ;
  }

  signals_forward() ;
  for (unsigned int i = 0 ; i < n && !caught ; i++)
  {
    int r ;
    if (o.debug)
    {
      if (!account_pretend(buffer_1, sel[i], file, mode)) mpop_diesys(EX_IOERR, "cannot write to stdout") ;
      flush() ;
    }
    r = run_account(sel[i], &o, file, argv[0]) ;
    if (r) { failed++ ; code = r ; }
  }
  if (failed > 1) code = EX_TEMPFAIL ;
 end:
  if (sel != hostsel) free(sel) ;
  account_free(&hostacct) ;
  account_free(&o.cli) ;
  rcfile_free(&rc) ;
  stralloc_free(&path) ;
  stralloc_free(&err) ;
  return code ;
}
