/* ISC license. */

#ifndef MPOP_POP3_INTERNAL_H
#define MPOP_POP3_INTERNAL_H

#include <mpop/pop3.h>

 /* Set p->code and p->msg (a, b, c concatenated; b, c may be 0) */
extern int pop3_failmsg (pop3 *, int code, char const *a, char const *b, char const *c) ;
extern int pop3_nomem (pop3 *) ;

 /* Copy the connection's error into the session */
extern int pop3_connerr (pop3 *) ;

 /* Decide whether to pipeline from the setting and the capabilities */
extern void pop3_decide_pipelining (pop3 *) ;

#endif
