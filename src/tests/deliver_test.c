/* ISC license. */

 /* Unit tests of the delivery API: output independent of how the message
    is cut into writes (mboxrd quoting and CRLF state across chunks),
    abort leaves nothing, a symlink planted in tmp/ is never followed,
    CRLF to LF conversion across chunks. Works in a temporary directory. */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>

#include <mpop/deliver.h>
#include "../libmpop/deliver-internal.h"
#include "check.h"

static char dir[] = "/tmp/deliver_test.XXXXXX" ;
static deliver d = DELIVER_ZERO ;

static char const msg[] =
  "From the top\nSubject: t\n\n>From a\n>>>From b\nFro\n>Fr\nFrom\n>\nx From y\n.\r\nFrom " ;

static int path (stralloc *sa, char const *name)
{
  sa->len = 0 ;
  return stralloc_cats(sa, dir) && stralloc_catb(sa, "/", 1) && stralloc_cats(sa, name) && stralloc_0(sa) ;
}

static int slurp_file (stralloc *sa, char const *name)
{
  stralloc p = STRALLOC_ZERO ;
  int r ;
  sa->len = 0 ;
  r = path(&p, name) && openslurpclose(sa, p.s) ;
  stralloc_free(&p) ;
  return r ;
}

 /* Delivers msg to "METHOD dir/name" in pieces of size step; returns the
    bytes of the result (mbox: without the From_ line date) in out */
static int deliver_in_steps (char const *method, size_t step, stralloc *out)
{
  stralloc err = STRALLOC_ZERO, spec = STRALLOC_ZERO ;
  size_t len = sizeof(msg) - 1 ;
  int r = 1 ;
  if (!stralloc_cats(&spec, method) || !stralloc_catb(&spec, " ", 1)
   || !stralloc_cats(&spec, dir) || !stralloc_cats(&spec, "/box") || !stralloc_0(&spec)) return 0 ;
  if (deliver_open(&d, spec.s, &err)) return 0 ;
  if (deliver_begin(&d, "s@x", &err)) r = 0 ;
  for (size_t i = 0 ; r && i < len ; i += step)
    if (deliver_write(&d, msg + i, len - i < step ? len - i : step, &err)) r = 0 ;
  if (r && (deliver_commit(&d, &err) || deliver_sync(&d, &err))) r = 0 ;
  deliver_close(&d) ;
  if (r) r = slurp_file(out, "box") ;
  stralloc_free(&err) ;
  stralloc_free(&spec) ;
  return r ;
}

static void test_mbox_chunks (void)
{
  stralloc ref = STRALLOC_ZERO, got = STRALLOC_ZERO, p = STRALLOC_ZERO ;
  static char const want[] =
    ">From the top\nSubject: t\n\n>>From a\n>>>>From b\nFro\n>Fr\nFrom\n>\nx From y\n.\r\n>From \n\n" ;
  int ok = 1 ;
  path(&p, "box") ;
  unlink(p.s) ;
  check(deliver_in_steps("mbox", 1000, &ref), "mbox delivery") ;
  {
    char const *nl = memchr(ref.s, '\n', ref.len) ;
    check(nl && !strncmp(ref.s, "From s@x ", 9) && ref.s + ref.len - (nl + 1) == sizeof(want) - 1
     && !memcmp(nl + 1, want, sizeof(want) - 1), "mbox content") ;
  }
  for (size_t step = 1 ; step < 20 ; step++)
  {
    unlink(p.s) ;
    if (!deliver_in_steps("mbox", step, &got)) { ok = 0 ; break ; }
     /* compare without the From_ line (its date may differ) */
    if (got.len != ref.len || memcmp(strchr(got.s, '\n'), strchr(ref.s, '\n'), ref.s + ref.len - strchr(ref.s, '\n'))) ok = 0 ;
  }
  check(ok, "mbox quoting does not depend on write sizes") ;
  unlink(p.s) ;
  stralloc_free(&ref) ; stralloc_free(&got) ; stralloc_free(&p) ;
}

static void test_exchange_chunks (void)
{
  stralloc p = STRALLOC_ZERO, err = STRALLOC_ZERO, got = STRALLOC_ZERO, name = STRALLOC_ZERO ;
  int ok = 1 ;
  path(&p, "X") ;
  mkdir(p.s, 0700) ;
  for (size_t step = 1 ; step < 8 && ok ; step++)
  {
    size_t len = sizeof(msg) - 1 ;
    if (deliver_open_method(&d, DELIVER_EXCHANGE, p.s, &err) || deliver_begin(&d, 0, &err)) { ok = 0 ; break ; }
    for (size_t i = 0 ; i < len ; i += step)
      deliver_write(&d, msg + i, len - i < step ? len - i : step, &err) ;
    if (deliver_commit(&d, &err) || deliver_sync(&d, &err)) ok = 0 ;
    name.len = 0 ;
    stralloc_cats(&name, "X/") ;
    stralloc_catb(&name, d.name.s + 1, d.name.len - 6) ;
    stralloc_0(&name) ;
    deliver_close(&d) ;
    if (!ok || !slurp_file(&got, name.s)) { ok = 0 ; break ; }
    {
      size_t j = 0 ;
      for (size_t i = 0 ; i < len ; i++)
      {
        if (msg[i] == '\n') { if (got.s[j++] != '\r') ok = 0 ; }
        if (got.s[j++] != msg[i]) ok = 0 ;
      }
      if (j + 2 != got.len || got.s[j] != '\r' || got.s[j + 1] != '\n') ok = 0 ;
    }
    path(&got, name.s) ;
    unlink(got.s) ;
  }
  check(ok, "exchange CRLF does not depend on write sizes") ;
  rmdir(p.s) ;
  stralloc_free(&p) ; stralloc_free(&err) ; stralloc_free(&got) ; stralloc_free(&name) ;
}

static void test_maildir_abort (void)
{
  stralloc p = STRALLOC_ZERO, err = STRALLOC_ZERO, sub = STRALLOC_ZERO ;
  int ok ;
  path(&p, "M") ;
  mkdir(p.s, 0700) ;
  path(&sub, "M/tmp") ; mkdir(sub.s, 0700) ;
  path(&sub, "M/new") ; mkdir(sub.s, 0700) ;
  ok = !deliver_open_method(&d, DELIVER_MAILDIR, p.s, &err) && !deliver_begin(&d, 0, &err)
    && !deliver_write(&d, msg, 100000 < sizeof(msg) ? 100000 : sizeof(msg) - 1, &err) ;
  check(ok, "maildir begin and write") ;
  {
    stralloc rel = STRALLOC_ZERO ;
    stralloc_copys(&rel, "M/tmp/") ;
    stralloc_cats(&rel, d.name.s) ;
    stralloc_0(&rel) ;
    path(&sub, rel.s) ;
    check(access(sub.s, F_OK) == 0, "the message is in tmp/ while written") ;
    stralloc_free(&rel) ;
  }
  path(&sub, "M/tmp") ;
  deliver_abort(&d) ;
  check(rmdir(sub.s) == 0, "abort leaves tmp/ empty") ;
  path(&sub, "M/new") ;
  check(rmdir(sub.s) == 0, "abort leaves new/ empty") ;
  deliver_close(&d) ;
  rmdir(p.s) ;
  stralloc_free(&p) ; stralloc_free(&err) ; stralloc_free(&sub) ;
}

static void test_no_symlink (void)
{
  stralloc victim = STRALLOC_ZERO, link = STRALLOC_ZERO, content = STRALLOC_ZERO ;
  int dfd = open(dir, O_RDONLY | O_DIRECTORY) ;
  int fd ;
  path(&victim, "victim") ;
  path(&link, "planted") ;
  openwritenclose_unsafe(victim.s, "precious\n", 9) ;
  check(symlink(victim.s, link.s) == 0, "plant a symlink") ;
  errno = 0 ;
  fd = deliver_create(dfd, "planted") ;
  check(fd < 0 && errno == EEXIST, "creating over a planted symlink fails with EEXIST") ;
  slurp_file(&content, "victim") ;
  check(content.len == 9 && !memcmp(content.s, "precious\n", 9), "the symlink's target is untouched") ;
  unlink(link.s) ;
  check(symlink("/nonexistent-target-of-deliver-test", link.s) == 0, "plant a dangling symlink") ;
  fd = deliver_create(dfd, "planted") ;
  check(fd < 0 && errno == EEXIST, "a dangling symlink is not followed either") ;
  check(access("/nonexistent-target-of-deliver-test", F_OK) < 0, "nothing created at its target") ;
  unlink(link.s) ;
  {
    struct stat st ;
    mode_t old = umask(0) ;
    fd = deliver_create(dfd, "fresh") ;
    umask(old) ;
    check(fd >= 0 && fstat(fd, &st) == 0 && (st.st_mode & 07777) == 0600, "created 0600 even with umask 0") ;
    if (fd >= 0) close(fd) ;
    unlinkat(dfd, "fresh", 0) ;
  }
  unlink(victim.s) ;
  close(dfd) ;
  stralloc_free(&victim) ; stralloc_free(&link) ; stralloc_free(&content) ;
}

static void test_tolf (void)
{
  static char const in[] = "a\r\nb\rc\r\r\n\r\rd\r" ;
  static char const want[] = "a\nb\rc\r\n\r\rd\r" ;
  size_t len = sizeof(in) - 1 ;
  int ok = 1 ;
  for (size_t step = 1 ; step <= len ; step++)
  {
    stralloc sa = STRALLOC_ZERO ;
    unsigned char cr = 0 ;
    for (size_t i = 0 ; i < len ; i += step)
      deliver_tolf(&sa, in + i, len - i < step ? len - i : step, &cr) ;
    deliver_tolf(&sa, 0, 0, &cr) ;
    if (sa.len != sizeof(want) - 1 || memcmp(sa.s, want, sa.len)) ok = 0 ;
    stralloc_free(&sa) ;
  }
  check(ok, "CRLF to LF does not depend on chunk sizes") ;
}

static void test_open_errors (void)
{
  stralloc err = STRALLOC_ZERO ;
  check(deliver_open(&d, "maildir", &err) == 78, "spec without argument") ;
  check(deliver_open(&d, "pigeon x", &err) == 78, "unknown method") ;
  check(deliver_open(&d, "maildir /nonexistent-deliver-test", &err) == 74 && strstr(err.s, "No such file"), "missing maildir") ;
  check(deliver_method("mbox") == DELIVER_MBOX && deliver_method("MBOX") < 0, "method names") ;
  stralloc_free(&err) ;
}

int main (void)
{
  if (!mkdtemp(dir)) return 2 ;
  test_mbox_chunks() ;
  test_exchange_chunks() ;
  test_maildir_abort() ;
  test_no_symlink() ;
  test_tolf() ;
  test_open_errors() ;
  rmdir(dir) ;
  return check_report() ;
}
