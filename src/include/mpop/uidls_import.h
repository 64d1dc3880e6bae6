/* ISC license. */

#ifndef MPOP_UIDLS_IMPORT_H
#define MPOP_UIDLS_IMPORT_H

#include <stddef.h>
#include <stdint.h>

#include <skalibs/stralloc.h>

#include <mpop/uidls.h>

 /* Readers of the records other retrievers keep of the messages they have
    seen, held in memory (file is only used in messages). They add the UIDs
    to set and return 0, or EX_DATAERR (65) with "FILE, line N: problem" in
    err, or EX_OSERR with an empty err when out of memory; after an error,
    set may hold part of the file. */

 /* fetchmail's .fetchids: lines "user@host UID" for every account it
    polls (the UID after the last space, the host after the last @). Only
    the lines of who ("user@host") are taken, with the time now; *others
    counts the lines of other accounts. */
extern int uidls_import_fetchmail (uidls_set *set, char const *file, char const *s, size_t len, char const *who, int64_t now, size_t *others, stralloc *err) ;

 /* getmail's oldmail-SERVER-PORT-USER file of a POP3 account: lines
    "UID NUL unix-seconds", the time getmail first saw the message. */
extern int uidls_import_getmail (uidls_set *set, char const *file, char const *s, size_t len, stralloc *err) ;

#endif
