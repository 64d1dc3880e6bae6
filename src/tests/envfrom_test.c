/* ISC license. */

 /* Unit tests of the envelope sender extraction and of the %F/%S
    substitution. The expected senders were observed with Debian's mpop
    1.4.18 (mbox From lines after a retrieval from a scripted server). */

#include <string.h>

#include <skalibs/buffer.h>
#include <skalibs/stralloc.h>
#include <skalibs/types.h>

#include <mpop/envfrom.h>

static unsigned int npassed = 0, nfailed = 0 ;

static void check (int ok, char const *what, char const *got)
{
  if (ok) { npassed++ ; return ; }
  nfailed++ ;
  buffer_puts(buffer_2, "FAIL: ") ;
  buffer_puts(buffer_2, what) ;
  if (got) { buffer_puts(buffer_2, " -> got: ") ; buffer_puts(buffer_2, got) ; }
  buffer_putsflush(buffer_2, "\n") ;
}

struct corpus_s { char const *header ; char const *want ; } ;

static struct corpus_s const corpus[] =
{
  { "Return-Path: <a@b.c>\n", "a@b.c" },
  { "Return-Path: user name@example.com\n", "name@example.com" },
  { "Return-Path: a@b.c d\n", "d" },
  { "Return-Path: a @ b.c\n", "b.c" },
  { "Return-Path: \"john doe\"@x.org\n", "@x.org" },
  { "Return-Path: group: a@b.c;\n", "a@b.c" },
  { "Return-Path: <>\nSender: s@x.org\n", "s@x.org" },
  { "Return-Path: <> x@y.z\n", "x@y.z" },
  { "Return-Path: < -evil@x.org>\n", "--evil@x.org" },
  { "Return-Path: <-evil@x.org>\n", "-evil@x.org" },
  { "Return-Path: <a(c)b@x>\n", "ab@x" },
  { "Return-Path: <a\"q q\"b@x>\n", "a_q-q_b@x" },
  { "Return-Path: a\\ b@x\n", "a-b@x" },
  { "Return-Path: x <a@b> y\n", "a@b" },
  { "Return-Path: <a@b\n", "a@b" },
  { "Return-Path: (unterminated\n", "MAILER-DAEMON" },
  { "Return-Path: a<b>c\n", "b" },
  { "Return-Path: \"unterminated\n", "MAILER-DAEMON" },
  { "Return-Path: a\"b\"c@x\n", "c@x" },
  { "Return-Path: a:b@x\n", "b@x" },
  { "Return-Path: <a,b;c>\n", "a_b_c" },
  { "Return-Path: a,b\n", "a" },
  { "Return-Path: ,a\n", "a" },
  { "Return-Path:\nSender: z@z\n", "z@z" },
  { "return-path:<lc@x>\n", "lc@x" },
  { "Return-Path : <sp@x>\n", "MAILER-DAEMON" },
  { "Return-Pathx: <q@x>\n", "MAILER-DAEMON" },
  { "Sender: <\xc3\xa9@x>\n", "__@x" },
  { "Return-Path: a,\n", "a" },
  { "Return-Path: ;a\n", "a" },
  { "Return-Path: (a(b)c)d@x\n", "d@x" },
  { "Return-Path: \"a\\\"b\" c@x\n", "c@x" },
  { "Return-Path: (a\\)b) c@x\n", "c@x" },
  { "Return-Path: <a@b> <c@d>\n", "a@b" },
  { "Return-Path: a (c) b\n", "b" },
  { "Return-Path: a(c)b\n", "ab" },
  { "Return-Path: a@b   \n", "a@b" },
  { "Return-Path: <a\\>b@x>\n", "a_b@x" },
  { "Return-Path: a@b <>\n", "MAILER-DAEMON" },
  { "Return-Path: <>,a@b\n", "a@b" },
  { "Return-Path: a@b;c\n", "a@b" },
  { "Return-Path: a$b@x\n", "a_b@x" },
  { "Return-Path: a\\\n", "a" },
  { "Return-Path: \"q\"\n", "MAILER-DAEMON" },
  { "Return-Path:\n <a@b>\nSender: s@x\n", "s@x" },
  { "Return-Path:\n <a@b>\n", "MAILER-DAEMON" },
  { "X: y\n\nSender: body@x\n", "MAILER-DAEMON" },
  { "Return-Path: <a<b>c>\n", "a_b" },
  { "Return-Path: <(a>b)c@x>\n", "c@x" },
  { "Return-Path: <\"a>b\"@x>\n", "_a" },
  { "Return-Path: a>b\n", "a_b" },
  { "Return-Path: a)b\n", "a_b" },
  { "Return-Path: a=b+c/d%e!f#g&h*i\n", "a_b+c/d_e_f_g_h_i" },
  { "Return-Path: ,,\nSender: t@t\n", "t@t" },
  { "Return-Path: < >\n", "-" },
  { "Return-Path: <a@b>x\n", "a@b" },
  { "Return-Path: \"x\" <>\nSender: u@u\n", "u@u" },
  { "Return-Path: a: <b@c>\n", "b@c" },
  { "Return-Path: a\"b\n", "MAILER-DAEMON" },
  { "Return-Path: (c) a@b (d)\n", "a@b" },
  { "Return-Path: a.b.c d.e.f, g\n", "d.e.f" },
  { "Return-Path: a\tb\x01" "c@x\n", "b_c@x" },
  { "Return-Path: <x\x7fy@z>\n", "x_y@z" },
  { "Return-Path: <\tt@x>\n", "-t@x" },
  { "Sender: <s@x>\nReturn-Path: <r@x>\n", "s@x" },
  { "Subject: hi\nFrom: f@x\n\n", "MAILER-DAEMON" },
  { "\"Quoted Name\" <q$u`o;t@x.org>\n", "MAILER-DAEMON" },
  { "Return-Path: \"Quoted Name\" <q$u`o;t@x.org>\n", "q_u_o_t@x.org" },
  { "Return-Path: alice(comment)@ex-ample.org\n", "alice@ex-ample.org" },
  { "Return-Path: <a@b.c> (comment)\n", "a@b.c" },
  { "Return-Path: a@b.c, d@e.f\n", "a@b.c" },
  { "Return-Path: <a@b>", "a@b" },
  { "", "MAILER-DAEMON" },
  { "\n", "MAILER-DAEMON" },
  { "Return-Path: <$(rm -rf ~)@x>\n", "_@x" },
  { "Return-Path: <;reboot;@x>\n", "_reboot_@x" },
  { "Return-Path: <`id`|&>\n", "_id___" },
} ;

static void test_corpus (void)
{
  stralloc sa = STRALLOC_ZERO ;
  for (size_t i = 0 ; i < sizeof(corpus) / sizeof(corpus[0]) ; i++)
  {
    char const *h = corpus[i].header ;
    size_t len = strlen(h) ;
    int same = 1 ;
    sa.len = 0 ;
    envfrom_get(&sa, h, len) ;
    check(!strcmp(sa.s, corpus[i].want), h, sa.s) ;
     /* the same, fed in two pieces split at every position, and byte by byte */
    for (size_t k = 0 ; k <= len ; k++)
    {
      envfrom f = ENVFROM_ZERO ;
      char const *got ;
      if (envfrom_feed(&f, h, k) == 0) envfrom_feed(&f, h + k, len - k) ;
      got = envfrom_finish(&f) ;
      if (!got || strcmp(got, corpus[i].want)) same = 0 ;
      envfrom_free(&f) ;
    }
    {
      envfrom f = ENVFROM_ZERO ;
      char const *got ;
      for (size_t k = 0 ; k < len && !envfrom_feed(&f, h + k, 1) ; k++) ;
      got = envfrom_finish(&f) ;
      if (!got || strcmp(got, corpus[i].want)) same = 0 ;
      envfrom_free(&f) ;
    }
    check(same, "incremental extraction agrees", h) ;
  }
  stralloc_free(&sa) ;
}

static void test_feed_stops (void)
{
  envfrom f = ENVFROM_ZERO ;
  check(envfrom_feed(&f, "Return-Path: <a@b>\nX: ", 22) == 1, "feed reports done once found", 0) ;
  envfrom_free(&f) ;
  check(envfrom_feed(&f, "X: y\n", 5) == 0, "feed needs more in the header", 0) ;
  check(envfrom_feed(&f, "\nbody", 5) == 1, "feed done at the end of the header", 0) ;
  check(!strcmp(envfrom_finish(&f), "MAILER-DAEMON"), "default sender", 0) ;
  envfrom_free(&f) ;
}

static void test_long_line (void)
{
  stralloc h = STRALLOC_ZERO, sa = STRALLOC_ZERO ;
  stralloc_cats(&h, "X-Long: ") ;
  for (unsigned int i = 0 ; i < 200000 ; i++) stralloc_catb(&h, "x", 1) ;
  stralloc_cats(&h, "\nReturn-Path: <l@x>\n\n") ;
  envfrom_get(&sa, h.s, h.len) ;
  check(!strcmp(sa.s, "l@x"), "long other line is skipped", sa.s) ;
  h.len = 0 ; sa.len = 0 ;
  stralloc_cats(&h, "Return-Path: ") ;
  for (unsigned int i = 0 ; i < 200000 ; i++) stralloc_catb(&h, "y", 1) ;
  stralloc_cats(&h, "\n\n") ;
  envfrom_get(&sa, h.s, h.len) ;
  check(sa.len == ENVFROM_LINEMAX - 13 + 1, "long candidate line parsed truncated", 0) ;
  stralloc_free(&h) ; stralloc_free(&sa) ;
}

struct subst_s { char const *cmd ; char const *from ; char const *size ; char const *want ; } ;

static struct subst_s const substs[] =
{
  { "deliver -f %F", "a@b", 0, "deliver -f a@b" },
  { "x %F %F", "a@b", 0, "x a@b a@b" },
  { "x %S %F", "a@b", 0, "x %S a@b" },
  { "x %S %F", "a@b", "1234", "x 1234 a@b" },
  { "x %S", "a@b", "12;rm", "x 12" },
  { "100%% %f %", "a", 0, "100%% %f %" },
  { "x %F", "-rf", 0, "x _rf" },
  { "x %F", "--help", 0, "x _-help" },
  { "x %F", "a;rm -rf ~", 0, "x a_rm--rf-_" },
  { "x %F", "$(id)", 0, "x __id_" },
  { "x %F", "`id`", 0, "x _id_" },
  { "x %F", "a\nb", 0, "x a-b" },
  { "x %F", "a'b\"c", 0, "x a_b_c" },
  { "x %F", "a|b&c>d<e", 0, "x a_b_c_d_e" },
  { "x %F", "MAILER-DAEMON", 0, "x MAILER-DAEMON" },
  { "x %F", "", 0, "x " },
  { "%F", "a@b", 0, "a@b" },
} ;

static void test_subst (void)
{
  stralloc sa = STRALLOC_ZERO ;
  for (size_t i = 0 ; i < sizeof(substs) / sizeof(substs[0]) ; i++)
  {
    sa.len = 0 ;
    envfrom_subst(&sa, substs[i].cmd, substs[i].from, substs[i].size) ;
    check(!strcmp(sa.s, substs[i].want), substs[i].cmd, sa.s) ;
  }
  sa.len = 0 ; envfrom_given(&sa, "<>") ;
  check(!strcmp(sa.s, "MAILER-DAEMON"), "given <>", sa.s) ;
  sa.len = 0 ; envfrom_given(&sa, "") ;
  check(!strcmp(sa.s, "MAILER-DAEMON"), "given empty", sa.s) ;
  sa.len = 0 ; envfrom_given(&sa, "<bob@x>") ;
  check(!strcmp(sa.s, "bob@x"), "given <bob@x>", sa.s) ;
  sa.len = 0 ; envfrom_given(&sa, "we;ird$from") ;
  check(!strcmp(sa.s, "we_ird_from"), "given we;ird$from", sa.s) ;
  stralloc_free(&sa) ;
}

int main (void)
{
  char fmt[UINT_FMT] ;
  test_corpus() ;
  test_feed_stops() ;
  test_long_line() ;
  test_subst() ;
  buffer_put(buffer_1, fmt, uint_fmt(fmt, npassed)) ;
  buffer_puts(buffer_1, " passed, ") ;
  buffer_put(buffer_1, fmt, uint_fmt(fmt, nfailed)) ;
  buffer_putsflush(buffer_1, " failed\n") ;
  return !!nfailed ;
}
