/* ISC license. */

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <unistd.h>

#include <skalibs/buffer.h>
#include <skalibs/bytestr.h>
#include <skalibs/stralloc.h>
#include <skalibs/types.h>

#include <mpop/account.h>
#include <mpop/err.h>
#include <mpop/srv.h>

#include "configure.h"

#define FAILED "automatic configuration based on SRV records failed: "
#define PATH_DEFAULT "/bin:/usr/bin"

typedef struct mailaddr_s mailaddr, *mailaddr_ref ;
struct mailaddr_s
{
  char const *full ;
  stralloc local ;
  char const *domain ;
} ;
#define MAILADDR_ZERO { .full = 0, .local = STRALLOC_ZERO, .domain = 0 }

 /* local@domain, split at the last @; both parts non-empty, no control
    characters anywhere (they would end up in the printed lines) */
static int mailaddr_split (mailaddr *m, char const *address)
{
  size_t len = strlen(address) ;
  size_t at = byte_rchr(address, len, '@') ;
  for (size_t i = 0 ; i < len ; i++)
    if ((unsigned char)address[i] < 32 || address[i] == 127) return 0 ;
  if (!at || at >= len - 1) return 0 ;
  m->full = address ;
  m->domain = address + at + 1 ;
  if (!stralloc_catb(&m->local, address, at) || !stralloc_0(&m->local)) mpop_dienomem() ;
  return 1 ;
}

static int srvname (stralloc *sa, char const *service, char const *domain)
{
  sa->len = 0 ;
  return stralloc_cats(sa, "_") && stralloc_cats(sa, service) && stralloc_cats(sa, "._tcp.")
    && stralloc_cats(sa, domain) && stralloc_0(sa) ;
}

 /* The domain itself or one of its subdomains, ignoring case */
static int host_in_domain (char const *host, char const *domain)
{
  size_t h = strlen(host), d = strlen(domain) ;
  if (h < d || strcasecmp(host + h - d, domain)) return 0 ;
  return h == d || host[h - d - 1] == '.' ;
}

 /* As posix_spawnp would find it, which is how the keyring is asked */
static int have_secret_tool (void)
{
  char const *path = getenv("PATH") ;
  stralloc file = STRALLOC_ZERO ;
  int found = 0 ;
  if (!path) path = PATH_DEFAULT ;
  while (!found)
  {
    size_t n = str_chr(path, ':') ;
    file.len = 0 ;
    if (!(n ? stralloc_catb(&file, path, n) : stralloc_cats(&file, "."))
     || !stralloc_cats(&file, "/secret-tool") || !stralloc_0(&file)) mpop_dienomem() ;
    found = !access(file.s, X_OK) ;
    if (!path[n]) break ;
    path += n + 1 ;
  }
  stralloc_free(&file) ;
  return found ;
}

static void cat (stralloc *sa, char const *s)
{
  if (!stralloc_cats(sa, s)) mpop_dienomem() ;
}

static void header (stralloc *out, mailaddr const *m, srvrecord const *r, char const *file, int keyring)
{
  cat(out, "# - put the lines below into ") ; cat(out, file) ; cat(out, "\n") ;
  if (!host_in_domain(r->target, m->domain))
    cat(out, "# - warning: the server is not in the domain of the address; make sure it is the right one\n") ;
  if (keyring)
  {
    cat(out, "# - store your password in the keyring with:\n#   secret-tool store --label=mpop host ") ;
    cat(out, r->target) ; cat(out, " service pop3 user ") ; cat(out, m->local.s) ; cat(out, "\n") ;
  }
  else cat(out, "# - keep your password in an encrypted file, written with:\n#   gpg -e -o ~/.mpop-password.gpg\n") ;
  cat(out, "# - change the delivery line to where your mail should go\n") ;
}

static void account_lines (stralloc *out, mailaddr const *m, srvrecord const *r, int starttls, int keyring)
{
  char fmt[UINT16_FMT] ;
  fmt[uint16_fmt(fmt, r->port)] = 0 ;
  cat(out, "account ") ; cat(out, m->full) ;
  cat(out, "\nhost ") ; cat(out, r->target) ;
  cat(out, "\nport ") ; cat(out, fmt) ;
  cat(out, "\ntls on\ntls_starttls ") ; cat(out, starttls ? "on" : "off") ;
  cat(out, "\nuser ") ; cat(out, m->local.s) ; cat(out, "\n") ;
  if (!keyring) cat(out, "passwordeval gpg --no-tty -q -d ~/.mpop-password.gpg\n") ;
  cat(out, "delivery mbox ~/MAIL\n") ;
}

 /* _pop3s first (TLS from the start), then _pop3 (STLS) */
static int lookup (mailaddr const *m, srvrecord *r, int *starttls)
{
  stralloc pop3s = STRALLOC_ZERO, pop3 = STRALLOC_ZERO ;
  int found = 0 ;
  if (!srvname(&pop3s, "pop3s", m->domain) || !srvname(&pop3, "pop3", m->domain)) mpop_dienomem() ;
  if (srv_lookup(pop3s.s, r)) { found = 1 ; *starttls = 0 ; }
  else if (srv_lookup(pop3.s, r)) { found = 1 ; *starttls = 1 ; }
  else mpop_info(FAILED "no SRV records for ", pop3s.s, " or ", pop3.s) ;
  stralloc_free(&pop3s) ;
  stralloc_free(&pop3) ;
  return found ;
}

int configure (char const *address, char const *file)
{
  mailaddr m = MAILADDR_ZERO ;
  stralloc path = STRALLOC_ZERO ;
  stralloc out = STRALLOC_ZERO ;
  srvrecord r ;
  int starttls, code = 0 ;
  if (!mailaddr_split(&m, address))
  {
    mpop_info(FAILED "invalid mail address") ;
    code = EX_DATAERR ;
  }
  else if (!lookup(&m, &r, &starttls)) code = EX_NOHOST ;
  else
  {
    int keyring = have_secret_tool() ;
    if (!file)
    {
      if (!rcfile_default(&path)) mpop_dienomem() ;
      file = path.s ;
    }
    header(&out, &m, &r, file, keyring) ;
    account_lines(&out, &m, &r, starttls, keyring) ;
    if (buffer_putflush(buffer_1, out.s, out.len) < 0) mpop_diesys(EX_IOERR, "cannot write to stdout") ;
  }
  stralloc_free(&out) ;
  stralloc_free(&path) ;
  stralloc_free(&m.local) ;
  return code ;
}
