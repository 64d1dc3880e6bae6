/* ISC license. */

#include <string.h>
#include <sysexits.h>

#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>

#include <mpop/auth.h>
#include <mpop/err.h>
#include <mpop/settings.h>

#include "options.h"

enum { OA_NONE, OA_REQ, OA_OPT } ;

enum
{
  O_VERSION = -100, O_HELP, O_CONFIGURE, O_PRETEND, O_DEBUG, O_SERVERINFO, O_FILE,
  O_ALL, O_AUTHONLY, O_STATUSONLY, O_ADOPT, O_FULLUIDL, O_QUIET, O_HALFQUIET, O_MDA
} ;

typedef struct optdef_s optdef ;
struct optdef_s
{
  char const *name ;
  char shortname ;
  unsigned char arg ;
  int id ;               /* a settings index, or an O_ value */
} ;

static optdef const cliopts[] =
{
  { "version", 0, OA_NONE, O_VERSION },
  { "help", 0, OA_NONE, O_HELP },
  { "configure", 0, OA_REQ, O_CONFIGURE },
  { "pretend", 'P', OA_NONE, O_PRETEND },
  { "debug", 'd', OA_NONE, O_DEBUG },
  { "serverinfo", 'S', OA_NONE, O_SERVERINFO },
  { "file", 'C', OA_REQ, O_FILE },
  { "all-accounts", 'a', OA_NONE, O_ALL },
  { "auth-only", 'A', OA_NONE, O_AUTHONLY },
  { "status-only", 's', OA_NONE, O_STATUSONLY },
  { "adopt", 0, OA_NONE, O_ADOPT },
  { "full-uidl", 0, OA_NONE, O_FULLUIDL },
  { "quiet", 'q', OA_NONE, O_QUIET },
  { "half-quiet", 'Q', OA_NONE, O_HALFQUIET },
  { "mda", 0, OA_NONE, O_MDA },
  { "only-new", 'n', OA_OPT, S_ONLY_NEW },
  { "keep", 'k', OA_OPT, S_KEEP },
  { 0, 0, 0, 0 }
} ;

#define NOPTS (sizeof(cliopts) / sizeof(optdef) - 1 + S_N)

 /* The option list: command-line-only options, then one per setting */
static unsigned int all_options (optdef *list, char names[][SETTINGS_ENVNAME_MAX])
{
  unsigned int n = 0 ;
  for (optdef const *o = cliopts ; o->name ; o++) list[n++] = *o ;
  for (unsigned int i = 0 ; i < S_N ; i++)
  {
    if (settings_table[i].flags & SF_NO_LONGOPT || i == S_ONLY_NEW || i == S_KEEP) continue ;
    settings_longopt(names[i], i) ;
    list[n].name = names[i] ;
    list[n].shortname = 0 ;
    list[n].arg = settings_table[i].flags & SF_LONG_OPTARG ? OA_OPT : OA_REQ ;
    list[n].id = i ;
    n++ ;
  }
  return n ;
}

static void die_ambiguous (optdef const *list, unsigned int n, char const *arg, size_t len)
{
  stralloc sa = STRALLOC_ZERO ;
  if (!stralloc_cats(&sa, "option '") || !stralloc_catb(&sa, arg, len + 2)
   || !stralloc_cats(&sa, "' is ambiguous; possibilities:")) mpop_dienomem() ;
  for (unsigned int i = 0 ; i < n ; i++)
    if (!strncmp(list[i].name, arg + 2, len))
      if (!stralloc_cats(&sa, " '--") || !stralloc_cats(&sa, list[i].name) || !stralloc_cats(&sa, "'")) mpop_dienomem() ;
  if (!stralloc_0(&sa)) mpop_dienomem() ;
  mpop_die(EX_USAGE, sa.s) ;
}

static optdef const *find_long (optdef const *list, unsigned int n, char const *arg, size_t len)
{
  optdef const *found = 0 ;
  unsigned int matches = 0 ;
  for (unsigned int i = 0 ; i < n ; i++)
  {
    if (strncmp(list[i].name, arg + 2, len)) continue ;
    if (strlen(list[i].name) == len) return list + i ;
    found = list + i ;
    matches++ ;
  }
  if (matches > 1) die_ambiguous(list, n, arg, len) ;
  if (!matches) mpop_die(EX_USAGE, "unrecognized option '", arg, "'") ;
  return found ;
}

static void apply (options *o, optdef const *d, char const *value)
{
  switch (d->id)
  {
    case O_VERSION : o->version = 1 ; o->configure = 0 ; return ;
    case O_HELP : o->help = 1 ; o->configure = 0 ; return ;
    case O_CONFIGURE : o->configure = value ; return ;
    case O_PRETEND : o->pretend = 1 ; return ;
    case O_DEBUG : o->debug = 1 ; return ;
    case O_SERVERINFO : o->serverinfo = 1 ; return ;
    case O_FILE : o->file = value ; return ;
    case O_ALL : o->all = 1 ; return ;
    case O_AUTHONLY : o->authonly = 1 ; return ;
    case O_STATUSONLY : o->statusonly = 1 ; return ;
    case O_ADOPT : o->adopt = 1 ; return ;
    case O_FULLUIDL : o->fulluidl = 1 ; return ;
    case O_QUIET : o->quiet = 1 ; return ;
    case O_HALFQUIET : o->halfquiet = 1 ; return ;
    case O_MDA : o->mda = 1 ; o->configure = 0 ; return ;
  }
  if (d->id == S_HOST) o->hostmode = 1 ;
  switch (account_set(&o->cli, d->id, value ? value : "", NORM_CLI))
  {
    case SE_OK : return ;
    case SE_NOMEM : mpop_dienomem() ;
    default : mpop_die(EX_USAGE, "invalid argument ", value ? value : "", " for --", d->name) ;
  }
}

 /* --name, --name=value, --name value (required arguments only) */
static int parse_long (options *o, optdef const *list, unsigned int n, int argc, char const *const *argv, int i)
{
  char const *arg = argv[i] ;
  char const *eq = strchr(arg, '=') ;
  size_t len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2) ;
  optdef const *d = find_long(list, n, arg, len) ;
  char const *value = eq ? eq + 1 : 0 ;
  if (d->arg == OA_NONE && value) mpop_die(EX_USAGE, "option '--", d->name, "' doesn't allow an argument") ;
  if (d->arg == OA_REQ && !value)
  {
    if (i + 1 >= argc) mpop_die(EX_USAGE, "option '--", d->name, "' requires an argument") ;
    value = argv[++i] ;
  }
  apply(o, d, value) ;
  return i ;
}

 /* -qQa, -Cfile, -C file, -noff, -k2d */
static int parse_short (options *o, optdef const *list, unsigned int n, int argc, char const *const *argv, int i)
{
  for (char const *s = argv[i] + 1 ; *s ; s++)
  {
    optdef const *d = 0 ;
    char c[2] = { *s, 0 } ;
    for (unsigned int j = 0 ; j < n ; j++) if (list[j].shortname == *s) { d = list + j ; break ; }
    if (!d) mpop_die(EX_USAGE, "invalid option -- '", c, "'") ;
    if (d->arg == OA_NONE) { apply(o, d, 0) ; continue ; }
    if (s[1]) { apply(o, d, s + 1) ; break ; }
    if (d->arg == OA_OPT) { apply(o, d, 0) ; break ; }
    if (i + 1 >= argc) mpop_die(EX_USAGE, "option requires an argument -- '", c, "'") ;
    apply(o, d, argv[++i]) ;
    break ;
  }
  return i ;
}

void options_parse (options *o, int argc, char const *const *argv)
{
  optdef list[NOPTS] ;
  char names[S_N][SETTINGS_ENVNAME_MAX] ;
  unsigned int n = all_options(list, names) ;
  int endopts = 0 ;
  for (int i = 1 ; i < argc ; i++)
  {
    char const *arg = argv[i] ;
    if (endopts || arg[0] != '-' || !arg[1]) o->accounts[o->naccounts++] = arg ;
    else if (!strcmp(arg, "--")) endopts = 1 ;
    else if (arg[1] == '-') i = parse_long(o, list, n, argc, argv, i) ;
    else i = parse_short(o, list, n, argc, argv, i) ;
  }
}

char const *options_auth_methods (void)
{
  return auth_methods_line() ;
}

char const *options_help (void)
{
  return
    "Usage:\n"
    "  mpop [option...] [account...]      fetch mail from the accounts (default: the\n"
    "                                     account named \"default\")\n"
    "  mpop [option...] --all-accounts    fetch mail from every account\n"
    "  mpop --host=host [option...]       fetch mail using command-line settings only\n"
    "  mpop [option...] --serverinfo [account...] show what the servers offer\n"
    "  mpop --mda --delivery=method,arg [sender] deliver one message from stdin\n"
    "  mpop --configure=mailaddress      print an account for the address, found\n"
    "                                     in DNS SRV records\n"
    "\n"
    "General:\n"
    "  --version                    show version and build information\n"
    "  --help                       show this text\n"
    "  -P, --pretend                show the resulting settings, then exit\n"
    "  -d, --debug                  show the settings and the protocol dialogue\n"
    "  -S, --serverinfo             show server information instead of fetching\n"
    "  --configure=ADDRESS          print an account for ADDRESS from DNS SRV records\n"
    "  -C, --file=FILE              read FILE instead of ~/.mpoprc\n"
    "Connection and authentication (an empty value unsets where allowed):\n"
    "  --host=HOST                  the server; no configuration file is read\n"
    "  --port=N                     the port (default 110, or 995 for TLS from the start)\n"
    "  --source-ip=[IP]             the local address to connect from\n"
    "  --proxy-host=[HOST]          a SOCKS5 proxy (the proxy resolves the server name)\n"
    "  --proxy-port=[N]             the proxy port (default 1080)\n"
    "  --socket=[PATH]              a local socket instead of host and port\n"
    "  --timeout=(off|SECONDS)      the network timeout (default 180)\n"
    "  --pipelining=(auto|on|off)   send commands in batches\n"
    "  --received-header[=(on|off)] add a Received: header to each message\n"
    "  --auth[=(on|METHOD)]         the authentication method, or on to choose one\n"
    "  --user=[NAME]                the user name\n"
    "  --passwordeval=[COMMAND]     a command whose first output line is the password\n"
    "  --tls[=(on|off)]             use TLS\n"
    "  --tls-starttls[=(on|off)]    start TLS with STLS (on) or from the first byte (off)\n"
    "  --tls-trust-file=[FILE]      trusted CA certificates, or system\n"
    "  --tls-crl-file=[FILE]        a certificate revocation list\n"
    "  --tls-fingerprint=[FP]       accept only the server certificate with this fingerprint\n"
    "  --tls-certcheck[=(on|off)]   check the server certificate\n"
    "  --tls-key-file=[FILE]        the client certificate's private key\n"
    "  --tls-cert-file=[FILE]       the client certificate\n"
    "  --tls-priorities=[LIST]      protocol versions and cipher families (see mpop(1))\n"
    "  --tls-host-override=[HOST]   the name to check the certificate against\n"
    "  --tls-min-dh-prime-bits=[B]  accepted for compatibility; no effect\n"
    "Fetching:\n"
    "  -q, --quiet                  print no status and no progress\n"
    "  -Q, --half-quiet             print the status but no progress\n"
    "  -a, --all-accounts           use every account of the configuration file\n"
    "  -A, --auth-only              log in, then log out\n"
    "  -s, --status-only            print the mailbox status only\n"
    "  --adopt                      mark every message on the server as retrieved,\n"
    "                               without retrieving or deleting any\n"
    "  --full-uidl                  always list every UID, never the quick check\n"
    "  -n, --only-new[=(on|off)]    fetch only messages not fetched before\n"
    "  -k, --keep[=(on|off|TIME)]   keep messages on the server (TIME: e.g. 7d, 12h30m)\n"
    "  --killsize=(off|SIZE)        delete larger messages without fetching them\n"
    "  --skipsize=(off|SIZE)        leave larger messages on the server\n"
    "  --filter=[COMMAND]           decide per message from its headers\n"
    "  --delivery=METHOD,ARG        mda,COMMAND | maildir,DIR | mbox,FILE | exchange,DIR\n"
    "  --uidls-file=FILE            where to remember fetched messages\n"
    "\n"
    "Exit codes follow sysexits.h; see mpop(1).\n" ;
}
