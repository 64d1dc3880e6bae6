/* ISC license. */

#ifndef MPOP_BINPATH_H
#define MPOP_BINPATH_H

#include <skalibs/stralloc.h>

 /* Sets sa to the path of the toolkit's program prog, NUL-terminated:
    under MPOP_BINPREFIX when the toolkit was configured with absolute
    paths, else next to argv0 (argv0's directory, or a bare name looked up
    in PATH when argv0 has no slash). 0 = no memory. */
extern int mpop_binpath (stralloc *sa, char const *argv0, char const *prog) ;

#endif
