/* ISC license. */

#ifndef MPOP_UIDLQUICK_H
#define MPOP_UIDLQUICK_H

#include <stddef.h>

#include <mpop/pop3.h>
#include <mpop/uidls.h>

 /* The quick check of a poll that can find nothing new (keep on, only
    new messages wanted): when the server holds exactly as many messages
    as the account has stored UIDs, "UIDL k" for a few positions k instead
    of the whole listing. It relies on servers listing messages in arrival
    order, new ones last: with as many messages as known UIDs, a new
    message would take the last position, which is always sampled. */

#define UIDLQUICK_MIN 256        /* smaller mailboxes are listed in full */
#define UIDLQUICK_SAMPLES 16

 /* The positions to sample among 1..n (n >= 2): 1, n and evenly spread
    between them, increasing, distinct. Returns how many (at most
    UIDLQUICK_SAMPLES). */
extern unsigned int uidlquick_positions (unsigned int *pos, unsigned int n) ;

 /* A reply line to "UIDL k": 1 if it is "+OK k UID" (UID: the rest of the
    line, not empty, no control character), with *uid and *len set; else 0. */
extern int uidlquick_parse (char const *line, size_t linelen, unsigned int k, char const **uid, size_t *len) ;

 /* Sends "UIDL k" for the sampled positions of a mailbox of n messages
    (pipelined when p->pipelining), reads every reply. 1 if each names a
    distinct UID that known holds: nothing can be new. 0 if not (a -ERR, a
    malformed reply, an unknown or repeated UID): the caller lists all the
    UIDs. -1 on an error of the connection (p->code and p->msg set). */
extern int uidlquick_check (pop3 *p, unsigned int n, uidls_set *known) ;

#endif
