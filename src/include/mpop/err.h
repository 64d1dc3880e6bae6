/* ISC license. */

#ifndef MPOP_ERR_H
#define MPOP_ERR_H

#include <sysexits.h>
#include <skalibs/strerr.h>

 /* Messages look like "prog: text", as mpop prints them; every exit code
    is a sysexits code. */

#define mpop_die(e, ...) strerr_die(e, PROG, ": ", __VA_ARGS__)
#define mpop_diesys(e, ...) strerr_diesys(e, PROG, ": ", __VA_ARGS__)
#define mpop_warn(...) strerr_warn(PROG, ": warning: ", __VA_ARGS__)
#define mpop_warnsys(...) strerr_warnsys(PROG, ": warning: ", __VA_ARGS__)
#define mpop_info(...) strerr_warn(PROG, ": ", __VA_ARGS__)
#define mpop_infosys(...) strerr_warnsys(PROG, ": ", __VA_ARGS__)
#define mpop_dienomem() mpop_diesys(EX_OSERR, "cannot allocate memory")
#define mpop_dieusage(u) strerr_die(EX_USAGE, PROG, ": usage: ", u)

 /* PROG is $MPOP_PROG when a wrapper (mpop) asks its children to speak in
    its name, else the program's own name. */
extern char const *mpop_progname (char const *own) ;

 /* Replaces control characters by '?' in place, as mpop does in messages */
extern char *mpop_sanitize (char *s, size_t len) ;

 /* "EX_NAME: description" for a sysexits code, as mpop prints it after
    an exit status, or 0 for other codes */
extern char const *mpop_sysexits_name (int) ;

#endif
