/* ISC license. */

 /* Unit test of the settings grammar: settings_normalize for every type,
    from rc files, the command line and the environment. */

#include <string.h>

#include <skalibs/buffer.h>
#include <skalibs/stralloc.h>
#include <skalibs/strerr.h>

#include <mpop/settings.h>

static unsigned int failures = 0 ;

static void check (char const *cmd, int how, char const *arg, int wantr, char const *want)
{
  stralloc sa = STRALLOC_ZERO ;
  int i = settings_find(cmd, strlen(cmd)) ;
  int r = i < 0 ? -1 : settings_normalize(i, arg, "/home/u", how, &sa) ;
  if (r != wantr || (want && (r != SE_OK || strcmp(sa.s, want))))
  {
    failures++ ;
    buffer_puts(buffer_2, "FAIL ") ; buffer_puts(buffer_2, cmd) ; buffer_puts(buffer_2, " [") ;
    buffer_puts(buffer_2, arg) ; buffer_puts(buffer_2, "] got ") ;
    buffer_puts(buffer_2, r == SE_OK ? sa.s : "(error)") ; buffer_putsflush(buffer_2, "\n") ;
  }
  stralloc_free(&sa) ;
}

int main (void)
{
  PROG = "settings-test" ;
  check("port", NORM_RC, "110", SE_OK, "110") ;
  check("port", NORM_RC, "0x6e", SE_OK, "110") ;
  check("port", NORM_RC, "0995", SE_INVALID, 0) ;
  check("port", NORM_RC, "65536", SE_INVALID, 0) ;
  check("port", NORM_RC, "", SE_NEEDSARG, 0) ;
  check("proxy_port", NORM_RC, "", SE_UNSET, 0) ;
  check("timeout", NORM_RC, "off", SE_OK, "off") ;
  check("timeout", NORM_RC, "0", SE_INVALID, 0) ;
  check("timeout", NORM_RC, "-1", SE_INVALID, 0) ;
  check("keep", NORM_RC, "", SE_OK, "on") ;
  check("keep", NORM_RC, "1h30m", SE_OK, "5400") ;
  check("keep", NORM_RC, "1d 2h", SE_OK, "93600") ;
  check("keep", NORM_RC, "0s", SE_OK, "off") ;
  check("keep", NORM_RC, "+5m", SE_OK, "300") ;
  check("keep", NORM_RC, "-1h", SE_INVALID, 0) ;
  check("keep", NORM_RC, "3600", SE_INVALID, 0) ;
  check("keep", NORM_RC, "1w", SE_INVALID, 0) ;
  check("keep", NORM_RC, "1D", SE_INVALID, 0) ;
  check("keep", NORM_CLI, "1d ", SE_INVALID, 0) ;
  check("keep", NORM_RC, "99999999999999999999d", SE_INVALID, 0) ;
  check("keep", NORM_RC, "106751991167301d", SE_INVALID, 0) ;
  check("keep", NORM_ENV, "5400", SE_OK, "5400") ;
  check("keep", NORM_ENV, "1h", SE_INVALID, 0) ;
  check("killsize", NORM_RC, "10k", SE_OK, "10240") ;
  check("killsize", NORM_RC, "010k", SE_OK, "8192") ;
  check("killsize", NORM_RC, "2m", SE_OK, "2097152") ;
  check("killsize", NORM_RC, "1M", SE_BADSIZE, 0) ;
  check("killsize", NORM_RC, "-1", SE_BADSIZE, 0) ;
  check("killsize", NORM_RC, "9223372036854775807m", SE_BADSIZE, 0) ;
  check("skipsize", NORM_RC, "off", SE_OK, "off") ;
  check("tls", NORM_RC, "", SE_OK, "on") ;
  check("tls", NORM_RC, "yes", SE_INVALID, 0) ;
  check("pipelining", NORM_RC, "", SE_OK, "on") ;
  check("auth", NORM_RC, "", SE_OK, "on") ;
  check("auth", NORM_RC, "scram-sha-256", SE_OK, "scram-sha-256") ;
  check("auth", NORM_RC, "PLAIN", SE_INVALID, 0) ;
  check("tls_fingerprint", NORM_RC, "0a:1b:2c:3d:4e:5f:60:71:82:93:a4:b5:c6:d7:e8:f9", SE_OK, "0A:1B:2C:3D:4E:5F:60:71:82:93:A4:B5:C6:D7:E8:F9") ;
  check("tls_fingerprint", NORM_RC, "0a 1b 2c 3d 4e 5f 60 71 82 93 a4 b5 c6 d7 e8 f9", SE_OK, "0A:1B:2C:3D:4E:5F:60:71:82:93:A4:B5:C6:D7:E8:F9") ;
  check("tls_fingerprint", NORM_RC, "0a:1b:2c:3d:4e:5f:60:71:82:93:a4:b5:c6:d7:e8:fg", SE_INVALID, 0) ;
  check("tls_fingerprint", NORM_RC, "", SE_UNSET, 0) ;
  check("delivery", NORM_RC, "maildir ~/Maildir", SE_OK, "maildir /home/u/Maildir") ;
  check("delivery", NORM_RC, "mda   \"procmail -f '%F'\"  ", SE_OK, "mda procmail -f '%F'") ;
  check("delivery", NORM_RC, "mda ~/bin/x", SE_OK, "mda ~/bin/x") ;
  check("delivery", NORM_RC, "mbox", SE_INVALID, 0) ;
  check("delivery", NORM_RC, "pipe x", SE_INVALID, 0) ;
  check("delivery", NORM_CLI, "mbox,~/m ", SE_OK, "mbox /home/u/m ") ;
  check("delivery", NORM_CLI, "mbox ~/m", SE_INVALID, 0) ;
  check("delivery", NORM_ENV, "mbox /x y", SE_OK, "mbox /x y") ;
  check("uidls_file", NORM_RC, "~/u", SE_OK, "/home/u/u") ;
  check("uidls_file", NORM_RC, "", SE_NEEDSARG, 0) ;
  check("uidls_file", NORM_ENV, "~/u", SE_OK, "~/u") ;
  check("host", NORM_RC, "~h", SE_OK, "~h") ;
  check("tls_trust_file", NORM_RC, "~foo", SE_OK, "/home/ufoo") ;
  check("tls_min_dh_prime_bits", NORM_RC, "0", SE_INVALID, 0) ;
  check("tls_force_sslv3", NORM_RC, "x", SE_UNSET, 0) ;
  check("nosuch", NORM_RC, "x", -1, 0) ;
  if (failures) return 1 ;
  buffer_putsflush(buffer_1, "settings-test: all checks passed\n") ;
  return 0 ;
}
