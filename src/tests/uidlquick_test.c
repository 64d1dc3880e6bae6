/* ISC license. */

 /* Unit tests of the quick check's positions and reply parsing */

#include <string.h>

#include <mpop/uidlquick.h>
#include "check.h"

static void test_positions (void)
{
  static unsigned int const sizes[] = { 2, 15, 16, 17, 256, 300, 100000, 1000000 } ;
  unsigned int pos[UIDLQUICK_SAMPLES] ;
  for (unsigned int j = 0 ; j < sizeof(sizes) / sizeof(sizes[0]) ; j++)
  {
    unsigned int n = sizes[j] ;
    unsigned int k = uidlquick_positions(pos, n) ;
    int ok = k >= 2 && k <= UIDLQUICK_SAMPLES && pos[0] == 1 && pos[k - 1] == n ;
    for (unsigned int i = 1 ; ok && i < k ; i++) ok = pos[i] > pos[i - 1] ;
    if (n >= UIDLQUICK_SAMPLES) ok = ok && k == UIDLQUICK_SAMPLES ;
    check(ok, "positions: 1 first, n last, increasing, 16 when n >= 16") ;
  }
  check(uidlquick_positions(pos, 300) == 16 && pos[1] == 20 && pos[14] == 280, "positions of 300: 1, 20, ..., 280, 300") ;
}

static int parses (char const *line, unsigned int k, char const *want)
{
  char const *uid ;
  size_t len ;
  if (!uidlquick_parse(line, strlen(line), k, &uid, &len)) return !want ;
  return want && len == strlen(want) && !memcmp(uid, want, len) ;
}

static void test_parse (void)
{
  check(parses("+OK 300 uid300", 300, "uid300"), "+OK 300 uid300") ;
  check(parses("+OK  7   a b ", 7, "a b "), "spaces around the number, inner and trailing spaces kept") ;
  check(parses("+OK 000000017a2b3c4d", 0, 0), "no space after the number") ;
  check(parses("+OK 299 uid300", 300, 0), "another number") ;
  check(parses("+OK 300", 300, 0), "no UID") ;
  check(parses("+OK 300 ", 300, 0), "empty UID") ;
  check(parses("+OK", 300, 0), "bare +OK") ;
  check(parses("+OK x300 uid", 300, 0), "not a number") ;
  check(parses("+OK 4294967596 uid", 300, 0), "a number that wraps to k") ;
  check(parses("+OK 300 a\tb", 300, 0), "control character") ;
  check(parses("-ERR 300 uid300", 300, 0), "-ERR") ;
  check(parses("+OKAY 300 uid300", 300, 0), "+OKAY") ;
}

int main (void)
{
  test_positions() ;
  test_parse() ;
  return check_report() ;
}
