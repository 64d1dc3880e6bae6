/* ISC license. */

#ifndef MPOP_TESTS_CHECK_H
#define MPOP_TESTS_CHECK_H

 /* The unit tests' tally: check counts a result and names a failure on
    stderr; check_report prints "N passed, N failed" and returns the exit
    code (0 when nothing failed). */
extern void check (int ok, char const *what) ;
extern int check_report (void) ;

#endif
