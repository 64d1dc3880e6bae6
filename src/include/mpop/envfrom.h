/* ISC license. */

#ifndef MPOP_ENVFROM_H
#define MPOP_ENVFROM_H

#include <stddef.h>

#include <skalibs/stralloc.h>

 /* The envelope sender of a message, derived from its header block as mpop
    does: physical header lines are scanned in order up to the empty line;
    the first "Return-Path:" or "Sender:" line (case-insensitive) whose value
    yields an address wins; continuation lines never match; From: is never
    used. Nothing found: ENVFROM_DEFAULT.
    An address is read from a value by skipping (nested) comments and quoted
    strings, honouring backslash escapes, preferring the content of <...>,
    dropping a word followed by '<', '"' or ':', stopping at ',' or ';'.
    The result is then mapped: A-Z a-z 0-9 . @ _ + / - are kept, space and
    \f \n \r \t \v become '-', every other byte becomes '_'. So no shell
    metacharacter and no whitespace can ever be part of the result. */

#define ENVFROM_DEFAULT "MAILER-DAEMON"
#define ENVFROM_LINEMAX 65536   /* longer candidate lines are parsed truncated */

 /* Maps every byte of s as described above, appending to sa. 1 ok, 0 nomem. */
extern int envfrom_sanitize (stralloc *sa, char const *s, size_t len) ;

 /* Parses a header field value (after the colon); appends the sanitised
    address to sa. 1 if an address was found, 0 if none, -1 nomem. */
extern int envfrom_parse (stralloc *sa, char const *value, size_t len) ;

 /* Incremental extraction over a message in LF form, fed in chunks of any
    size. Memory is bounded by ENVFROM_LINEMAX. */
typedef struct envfrom_s envfrom, *envfrom_ref ;
struct envfrom_s
{
  stralloc line ;     /* the current candidate line */
  stralloc addr ;     /* the result, NUL-terminated once done */
  unsigned char state ;
} ;
#define ENVFROM_ZERO { .line = STRALLOC_ZERO, .addr = STRALLOC_ZERO, .state = 0 }

 /* 1 when the sender is known (found, or the header block has ended), 0
    when more input is needed, -1 nomem. */
extern int envfrom_feed (envfrom *, char const *s, size_t len) ;

 /* Ends the input (message without a body separator) and returns the
    sender: the address found or ENVFROM_DEFAULT. 0 on nomem. */
extern char const *envfrom_finish (envfrom *) ;
extern void envfrom_free (envfrom *) ;

 /* Whole header block at once: appends the sender (or ENVFROM_DEFAULT) and
    a NUL to sa. 1 ok, 0 nomem. */
extern int envfrom_get (stralloc *sa, char const *msg, size_t len) ;

 /* A sender given by the user (mdeliver -f, mpop --mda FROM): sanitised like
    an extracted address; an empty sender becomes ENVFROM_DEFAULT. Appends
    the result and a NUL to sa. 1 ok, 0 nomem. */
extern int envfrom_given (stralloc *sa, char const *s) ;

 /* Command substitution: copies cmd to sa, replacing every "%F" by from and,
    if size is not 0, every "%S" by size. Both are sanitised again here:
    from with envfrom_sanitize, and a leading '-' becomes '_' so that it can
    never be taken for an option; size keeps only digits. A sender of
    ENVFROM_DEFAULT is inserted as is. Appends a NUL. 1 ok, 0 nomem. */
extern int envfrom_subst (stralloc *sa, char const *cmd, char const *from, char const *size) ;

#endif
