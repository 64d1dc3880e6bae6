/* ISC license. */

#ifndef POP3FETCH_FILTER_H
#define POP3FETCH_FILTER_H

#include "pop3fetch.h"

 /* The filter setting: the command, or 0 when unset */
extern char const *filter_command (session const *) ;

 /* After killsize and skipsize: every message still marked M_RETR goes
    through the filter (TOP n 0, its header block on the filter's stdin).
    Exit 0 keeps M_RETR, 1 turns it into M_KILLED, 2 drops it for this
    session; anything else ends the session. */
extern void session_filter (session *) ;

#endif
