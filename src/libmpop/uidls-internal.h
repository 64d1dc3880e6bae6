/* ISC license. */

#ifndef MPOP_UIDLS_INTERNAL_H
#define MPOP_UIDLS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <skalibs/stralloc.h>

 /* err = the concatenation of the strings; returns code (EX_OSERR with an
    empty err when out of memory) */
#define uidls_say(err, code, ...) uidls_sayv(err, code, (char const *const[]){ __VA_ARGS__, 0 })
extern int uidls_sayv (stralloc *err, int code, char const *const *v) ;

 /* strtoll on exactly len bytes: blanks, sign, digits. 0 on overflow;
    else 1, and *end is where the number ends (0 if there are no digits). */
extern int uidls_scan_integer (char const *s, size_t len, int64_t *n, size_t *end) ;

#endif
