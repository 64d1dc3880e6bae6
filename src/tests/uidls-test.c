/* ISC license. */

 /* Unit tests of the UIDLs parser, sets and journal. Prints TAP. */

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sysexits.h>

#include <skalibs/buffer.h>
#include <skalibs/djbunix.h>
#include <skalibs/posixplz.h>
#include <skalibs/genalloc.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>
#include <skalibs/types.h>

#include <mpop/uidls.h>

#define NOW 1000

static unsigned int ntests = 0, nfailed = 0 ;

static void out (char const *s, size_t len)
{
  if (buffer_put(buffer_1, s, len) < 0) strerr_diefu1sys(EX_IOERR, "write") ;
}
#define outs(s) out((s), strlen(s))

static void report (int ok, char const *name, char const *got, size_t gotlen, char const *want)
{
  char fmt[UINT_FMT] ;
  fmt[uint_fmt(fmt, ++ntests)] = 0 ;
  outs(ok ? "ok " : "not ok ") ; outs(fmt) ; outs(" - ") ; outs(name) ; outs("\n") ;
  if (!ok)
  {
    nfailed++ ;
    outs("#   want: ") ; outs(want) ; outs("\n#   got:  ") ; out(got, gotlen) ; outs("\n") ;
  }
}

static int same (stralloc const *got, char const *want)
{
  return got->len == strlen(want) && (!got->len || !memcmp(got->s, want, got->len)) ;
}

static void dump (stralloc *sa, genalloc *lists)
{
  sa->len = 0 ;
  for (size_t i = 0 ; i < genalloc_len(uidls_list, lists) ; i++)
  {
    uidls_list *l = genalloc_s(uidls_list, lists) + i ;
    uidls_set_sort(&l->set) ;
    stralloc_cats(sa, "[") ; stralloc_cats(sa, l->host) ; stralloc_cats(sa, " ") ; stralloc_cats(sa, l->user) ; stralloc_cats(sa, "]") ;
    for (size_t j = 0 ; j < uidls_set_len(&l->set) ; j++)
    {
      char fmt[UINT64_FMT + 1] ;
      fmt[int64_fmt(fmt, uidls_set_ts(&l->set, j))] = 0 ;
      stralloc_cats(sa, "<") ; stralloc_cats(sa, uidls_set_uid(&l->set, j)) ;
      stralloc_cats(sa, "|") ; stralloc_cats(sa, fmt) ; stralloc_cats(sa, ">") ;
    }
  }
}

 /* parse s (len bytes); want is either the dump of the lists or
    "65 message" for an error */
static void tparse_b (char const *name, char const *s, size_t len, char const *want)
{
  genalloc lists = GENALLOC_ZERO ;
  stralloc err = STRALLOC_ZERO ;
  stralloc got = STRALLOC_ZERO ;
  int e = uidls_parse(&lists, "F", s, len, NOW, &err) ;
  if (e)
  {
    char fmt[UINT_FMT] ;
    fmt[uint_fmt(fmt, e)] = 0 ;
    stralloc_cats(&got, fmt) ; stralloc_cats(&got, " ") ; stralloc_catb(&got, err.s, err.len) ;
    if (genalloc_len(uidls_list, &lists)) stralloc_cats(&got, " (lists left behind)") ;
  }
  else dump(&got, &lists) ;
  report(same(&got, want), name, got.s, got.len, want) ;
  uidls_lists_free(&lists) ;
  stralloc_free(&err) ;
  stralloc_free(&got) ;
}
#define tparse(name, s, want) tparse_b(name, s, strlen(s), want)

#define HDR "# comment\n#\n"

static void test_good (void)
{
  tparse("empty file", "", "") ;
  tparse("comments only", HDR "# more\n", "") ;
  tparse("new format", HDR " 2 pop.example.org joe\nm1 1795711327\nm2 5\n", "[pop.example.org joe]<m1|1795711327><m2|5>") ;
  tparse("old format gets now", " 2 h u\nm1\nm2\n", "[h u]<m1|1000><m2|1000>") ;
  tparse("mixed formats", " 3 h u\nm1\nm2 7\nm3\n", "[h u]<m1|1000><m2|7><m3|1000>") ;
  tparse("two lists", " 1 h u\na 1\n 1 h2 u2\nb 2\n", "[h u]<a|1>[h2 u2]<b|2>") ;
  tparse("no final newline", " 1 h u\na 1", "[h u]<a|1>") ;
  tparse("split at the last space", " 1 h u\na b c 9\n", "[h u]<a b c|9>") ;
  tparse("empty timestamp is 0", " 1 h u\nm6 \n", "[h u]<m6|0>") ;
  tparse("two trailing spaces", " 1 h u\na b  \n", "[h u]<a b |0>") ;
  tparse("negative timestamp", " 1 h u\na -5\n", "[h u]<a|-5>") ;
  tparse("plus sign", " 1 h u\na +7\n", "[h u]<a|7>") ;
  tparse("int64 min", " 1 h u\na -9223372036854775808\n", "[h u]<a|-9223372036854775808>") ;
  tparse("int64 max", " 1 h u\na 9223372036854775807\n", "[h u]<a|9223372036854775807>") ;
  tparse("leading blank in timestamp", " 1 h u\na \t5\n", "[h u]<a|5>") ;
  tparse("hash is data inside a list", " 2 h u\n#x 1\n# 2\n", "[h u]<#|2><#x|1>") ;
  tparse("8-bit UID", " 1 h u\n\xe9t\xe9\xff 3\n", "[h u]<\xe9t\xe9\xff|3>") ;
  tparse("unsorted list sorted", " 3 h u\nc 1\na 2\nb 3\n", "[h u]<a|2><b|3><c|1>") ;
  tparse("bytewise order", " 3 h u\nb 1\nB 1\n_ 1\n", "[h u]<B|1><_|1><b|1>") ;
  tparse("duplicates keep the earliest", " 3 h u\na 5\na 3\na 9\n", "[h u]<a|3>") ;
  tparse("plus count", " +2 h u\na 1\nb 1\n", "[h u]<a|1><b|1>") ;
  tparse("blank before count", "  1 h u\na 1\n", "[h u]<a|1>") ;
  tparse("tab in host", " 1 h\tx u\na 1\n", "[h\tx u]<a|1>") ;
  tparse("CR kept in old UID", " 1 h u\nab\r\n", "[h u]<ab\r|1000>") ;
  tparse_b("NUL ends a line's text", " 1 h u\nab\0cd 5\n", 15, "[h u]<ab|1000>") ;
}

static void test_errors (void)
{
  tparse("UID without a list", "x 1\n", "65 F, line 1: UID without a list") ;
  tparse("UID without a list after comments", HDR "x 1\n", "65 F, line 3: UID without a list") ;
  tparse("empty line", HDR "\n", "65 F, line 3: UID without a list") ;
  tparse("comment after data", " 1 h u\na 1\n# late\n", "65 F, line 3: UID without a list") ;
  tparse("count 0", " 0 h u\n", "65 F, line 1: invalid number of UIDs") ;
  tparse("count negative", " -1 h u\n", "65 F, line 1: invalid number of UIDs") ;
  tparse("count missing", "  h u\n", "65 F, line 1: invalid number of UIDs") ;
  tparse("count not a number", " x h u\n", "65 F, line 1: invalid number of UIDs") ;
  tparse("count without space", " 3h u\n", "65 F, line 1: invalid number of UIDs") ;
  tparse("count alone", " 3\n", "65 F, line 1: invalid number of UIDs") ;
  tparse("space alone", " \n", "65 F, line 1: invalid number of UIDs") ;
  tparse("count overflow", " 99999999999999999999 h u\n", "65 F, line 1: invalid number of UIDs") ;
  tparse("two spaces before host", " 3  u\n", "65 F, line 1: invalid or missing host name") ;
  tparse("no user", " 3 h\n", "65 F, line 1: invalid or missing host name") ;
  tparse("empty user", " 3 h \n", "65 F, line 1: invalid or missing user name") ;
  tparse("user with space", " 3 h u v\n", "65 F, line 1: invalid or missing user name") ;
  tparse("two spaces before user", " 3 h  u\n", "65 F, line 1: invalid or missing user name") ;
  tparse("header too early", HDR " 2 h u\na 1\n 1 h2 u\nb 1\n", "65 F, line 5: too few UIDs for user u, host h") ;
  tparse("file ends early", " 3 h u\na 1\nb 1\n", "65 F, line 3: too few UIDs for user u, host h") ;
  tparse("file ends after header", HDR " 1 h u\n", "65 F, line 3: too few UIDs for user u, host h") ;
  tparse("file ends early without newline", " 3 h u\na 1\nb 1", "65 F, line 3: too few UIDs for user u, host h") ;
  tparse("invalid timestamp", " 1 h u\nb#c d\n", "65 F, line 2: invalid timestamp") ;
  tparse("timestamp with junk", " 1 h u\na 12x\n", "65 F, line 2: invalid timestamp") ;
  tparse("timestamp sign only", " 1 h u\na -\n", "65 F, line 2: invalid timestamp") ;
  tparse("timestamp with CR", " 1 h u\na 12\r\n", "65 F, line 2: invalid timestamp") ;
  tparse("timestamp overflow", " 1 h u\na 9223372036854775808\n", "65 F, line 2: invalid timestamp") ;
  tparse("timestamp underflow", " 1 h u\na -9223372036854775809\n", "65 F, line 2: invalid timestamp") ;
  tparse("error in the second list", " 1 h u\na 1\n 1 h2 u\nb x\n", "65 F, line 4: invalid timestamp") ;
}

static void test_long_lines (void)
{
  stralloc sa = STRALLOC_ZERO ;
  stralloc want = STRALLOC_ZERO ;
  stralloc_cats(&sa, " 1 h u\n") ;
  for (unsigned int i = 0 ; i < UIDLS_LINE_MAX ; i++) stralloc_catb(&sa, "x", 1) ;
  stralloc_cats(&sa, "\n") ;
  stralloc_cats(&want, "[h u]<") ;
  stralloc_catb(&want, sa.s + 7, UIDLS_LINE_MAX) ;
  stralloc_cats(&want, "|1000>") ;
  stralloc_0(&want) ;
  tparse_b("line of 8190 characters", sa.s, sa.len, want.s) ;
  sa.len-- ;
  stralloc_cats(&sa, "x\n") ;
  tparse_b("line of 8191 characters", sa.s, sa.len, "65 F, line 2: line longer than 8191 characters") ;
  sa.len-- ;
  tparse_b("last line of 8191 characters without newline", sa.s, sa.len, "65 F, line 2: line longer than 8191 characters") ;
  sa.len = 0 ;
  stralloc_cats(&sa, "#") ;
  for (unsigned int i = 0 ; i < 100000 ; i++) stralloc_catb(&sa, "#", 1) ;
  tparse_b("long comment", sa.s, sa.len, "65 F, line 1: line longer than 8191 characters") ;
  stralloc_free(&sa) ;
  stralloc_free(&want) ;
}

static void test_huge (void)
{
  genalloc lists = GENALLOC_ZERO ;
  stralloc sa = STRALLOC_ZERO ;
  stralloc err = STRALLOC_ZERO ;
  unsigned int found = 0 ;
  char fmt[UINT_FMT] ;
  int e ;
  stralloc_cats(&sa, "# big\n 100000 h u\n") ;
  for (unsigned int i = 100000 ; i-- ;)  /* reverse order: sorted on read */
  {
    fmt[uint_fmt(fmt, i)] = 0 ;
    stralloc_cats(&sa, "uid-") ; stralloc_cats(&sa, fmt) ; stralloc_cats(&sa, " 17\n") ;
  }
  e = uidls_parse(&lists, "F", sa.s, sa.len, NOW, &err) ;
  report(!e && genalloc_len(uidls_list, &lists) == 1, "100000 UIDs parsed", err.s, err.len, "") ;
  if (!e)
  {
    uidls_set *set = &genalloc_s(uidls_list, &lists)->set ;
    for (unsigned int i = 0 ; i < 100000 ; i++)
    {
      int64_t ts ;
      fmt[uint_fmt(fmt, i)] = 0 ;
      sa.len = 0 ;
      stralloc_cats(&sa, "uid-") ; stralloc_cats(&sa, fmt) ; stralloc_0(&sa) ;
      found += uidls_set_find(set, sa.s, &ts) && ts == 17 ;
    }
    report(found == 100000 && !uidls_set_find(set, "uid-100000", 0), "100000 UIDs found", "", 0, "all found") ;
  }
  tparse("huge count, few lines", " 9223372036854775807 h u\na 1\n", "65 F, line 2: too few UIDs for user u, host h") ;
  uidls_lists_free(&lists) ;
  stralloc_free(&sa) ;
  stralloc_free(&err) ;
}

static void tjournal (char const *name, char const *s, size_t len, char const *want, size_t wantbad)
{
  genalloc lists = GENALLOC_ZERO ;
  stralloc got = STRALLOC_ZERO ;
  size_t bad = 99 ;
  int e = uidls_journal_parse(&lists, s, len, &bad) ;
  dump(&got, &lists) ;
  if (e || bad != wantbad) stralloc_cats(&got, " (error or bad line number)") ;
  report(!e && bad == wantbad && same(&got, want), name, got.s, got.len, want) ;
  uidls_lists_free(&lists) ;
  stralloc_free(&got) ;
}

static void test_journal (void)
{
  stralloc j = STRALLOC_ZERO ;
  size_t cut ;
  uidls_journal_line(&j, "h", "u", "a b", 5) ;
  uidls_journal_line(&j, "h2", "u", "#c", -3) ;
  uidls_journal_line(&j, "h", "u", "a b", 4) ;
  tjournal("journal round trip", j.s, j.len, "[h u]<a b|4>[h2 u]<#c|-3>", 0) ;
  cut = j.len ;
  uidls_journal_line(&j, "h", "u", "torn", 6) ;
  tjournal("torn last line ignored", j.s, j.len - 1, "[h u]<a b|4>[h2 u]<#c|-3>", 0) ;
  tjournal("torn last line cut short", j.s, cut + 4, "[h u]<a b|4>[h2 u]<#c|-3>", 0) ;
  j.s[cut + 2] ^= 1 ;
  tjournal("garbled last line ignored", j.s, j.len, "[h u]<a b|4>[h2 u]<#c|-3>", 0) ;
  j.s[cut + 2] ^= 1 ;
  j.s[3] = 'X' ;
  tjournal("garbled first line reported", j.s, j.len, "[h2 u]<#c|-3>[h u]<a b|4><torn|6>", 1) ;
  j.len = 0 ;
  stralloc_catb(&j, "\0\0\0\0", 4) ;
  tjournal("zeros at the end", j.s, j.len, "", 0) ;
  j.len = 0 ;
  {
    static char const nulhost[] = "5 h\0x u a fd1f8394\n6 h\0x u b a825a334\n" ;
    stralloc_catb(&j, nulhost, sizeof(nulhost) - 1) ;
  }
  uidls_journal_line(&j, "h", "u", "c", 7) ;
  tjournal("NUL in a host: invalid lines (found by fuzzing)", j.s, j.len, "[h u]<c|7>", 1) ;
  stralloc_free(&j) ;
}

static void test_set (void)
{
  uidls_set set = UIDLS_SET_ZERO ;
  int64_t ts = 0 ;
  uidls_set_add(&set, "b", 1, 2) ;
  uidls_set_add(&set, "a", 1, 1) ;
  uidls_set_add(&set, "b", 1, 0) ;
  report(uidls_set_find(&set, "b", &ts) && ts == 0 && uidls_set_len(&set) == 2, "set dedupes, keeps earliest", "", 0, "") ;
  report(!uidls_set_find(&set, "c", 0) && !uidls_set_find(&set, "", 0), "set misses", "", 0, "") ;
  uidls_set_free(&set) ;
  report(uidls_uid_valid("abc", 3) && uidls_uid_valid("a b", 3) && uidls_uid_valid("\xe9", 1), "valid UIDs", "", 0, "") ;
  report(!uidls_uid_valid("", 0) && !uidls_uid_valid(" a", 2) && !uidls_uid_valid("a\nb", 3)
   && !uidls_uid_valid("a\tb", 3) && !uidls_uid_valid("a\x7f", 2), "invalid UIDs", "", 0, "") ;
}

static void trimmed (char const *name, char const *dir, char const *old, size_t oldlen, size_t wantbad, char const *want)
{
  stralloc path = STRALLOC_ZERO ;
  stralloc jpath = STRALLOC_ZERO ;
  stralloc err = STRALLOC_ZERO ;
  stralloc j = STRALLOC_ZERO ;
  stralloc got = STRALLOC_ZERO ;
  genalloc lists = GENALLOC_ZERO ;
  uidls u ;
  size_t bad = 99 ;
  int e ;
  stralloc_cats(&path, dir) ; stralloc_cats(&path, "/trim") ; stralloc_0(&path) ;
  stralloc_copyb(&jpath, path.s, path.len - 1) ; stralloc_cats(&jpath, ".journal") ; stralloc_0(&jpath) ;
  e = !openwritenclose_unsafe(jpath.s, old, oldlen) ;
  if (!e) e = uidls_open(&u, path.s, "h", "u", NOW, UIDLS_APPEND, &err) ;
  if (!e) e = uidls_journal_add(&u, "new", 7, &err) ;
  if (!e) e = uidls_journal_sync(&u, &err) ;
  if (!e) uidls_close(&u) ;
  if (!e && openslurpclose(&j, jpath.s)) e = uidls_journal_parse(&lists, j.s, j.len, &bad) ;
  dump(&got, &lists) ;
  report(!e && bad == wantbad && same(&got, want), name, got.s, got.len, want) ;
  unlink_void(jpath.s) ;
  unlink_void(path.s) ;
  uidls_lists_free(&lists) ;
  stralloc_free(&path) ; stralloc_free(&jpath) ; stralloc_free(&err) ; stralloc_free(&j) ; stralloc_free(&got) ;
}

 /* appending after a crash: a torn tail is cut before new lines go in */
static void test_append (char const *dir)
{
  stralloc j = STRALLOC_ZERO ;
  size_t len ;
  uidls_journal_line(&j, "h", "u", "old", 5) ;
  len = j.len ;
  uidls_journal_line(&j, "h", "u", "torn", 6) ;
  trimmed("append after a whole journal", dir, j.s, len, 0, "[h u]<new|7><old|5>") ;
  trimmed("append after a torn line", dir, j.s, j.len - 3, 0, "[h u]<new|7><old|5>") ;
  trimmed("append after zeros", dir, "\0\0\0", 3, 0, "[h u]<new|7>") ;
  stralloc_free(&j) ;
}

 /* flushed lines are in the journal without a sync; buffered ones are not */
static void test_flush (char const *dir)
{
  stralloc path = STRALLOC_ZERO ;
  stralloc jpath = STRALLOC_ZERO ;
  stralloc err = STRALLOC_ZERO ;
  stralloc j = STRALLOC_ZERO ;
  stralloc got = STRALLOC_ZERO ;
  genalloc lists = GENALLOC_ZERO ;
  char const *want = "[h u]<a|7><b|7>" ;
  uidls u ;
  size_t bad = 99 ;
  int e ;
  stralloc_cats(&path, dir) ; stralloc_cats(&path, "/flush") ; stralloc_0(&path) ;
  stralloc_copyb(&jpath, path.s, path.len - 1) ; stralloc_cats(&jpath, ".journal") ; stralloc_0(&jpath) ;
  e = uidls_open(&u, path.s, "h", "u", NOW, UIDLS_APPEND, &err) ;
  if (!e) e = uidls_journal_add(&u, "a", 7, &err) ;
  if (!e) e = uidls_journal_flush(&u, &err) ;
  if (!e) e = uidls_journal_add(&u, "b", 7, &err) ;
  if (!e) e = uidls_journal_flush(&u, &err) ;
  if (!e) e = uidls_journal_flush(&u, &err) ;
  if (!e) e = uidls_journal_add(&u, "lost", 7, &err) ;
  if (!e) uidls_close(&u) ;
  if (!e && openslurpclose(&j, jpath.s)) e = uidls_journal_parse(&lists, j.s, j.len, &bad) ;
  dump(&got, &lists) ;
  report(!e && !bad && same(&got, want), "flushed lines stay, buffered ones are dropped", got.s, got.len, want) ;
  unlink_void(jpath.s) ;
  unlink_void(path.s) ;
  uidls_lists_free(&lists) ;
  stralloc_free(&path) ; stralloc_free(&jpath) ; stralloc_free(&err) ; stralloc_free(&j) ; stralloc_free(&got) ;
}

int main (int argc, char const *const *argv)
{
  char tmp[] = "/tmp/uidls-test.XXXXXX" ;
  char const *dir = argc > 1 ? argv[1] : mkdtemp(tmp) ;
  char fmt[UINT_FMT] ;
  PROG = "uidls-test" ;
  if (!dir) strerr_diefu1sys(EX_IOERR, "mkdtemp") ;
  test_good() ;
  test_errors() ;
  test_long_lines() ;
  test_huge() ;
  test_journal() ;
  test_set() ;
  test_append(dir) ;
  test_flush(dir) ;
  if (argc < 2) rmdir(dir) ;
  fmt[uint_fmt(fmt, ntests)] = 0 ;
  outs("1..") ; outs(fmt) ; outs("\n") ;
  if (!buffer_flush(buffer_1)) strerr_diefu1sys(EX_IOERR, "write") ;
  return nfailed ? 1 : 0 ;
}
