/* ISC license. */

#ifndef MPOP_SHELLCHILD_H
#define MPOP_SHELLCHILD_H

#include <sys/types.h>

#include <skalibs/gccattributes.h>

 /* In a child just forked to run a user's command (a filter, an MDA): a
    process group of its own, killed when parent dies (Linux; a parent
    gone already makes it exit at once, before it could take a cut input
    for a whole one), default signal handling, stdin rfd, stdout outfd,
    then /bin/sh -c cmd. Never returns: 127/126 when sh cannot run. */
extern void shellchild_exec (char const *cmd, int rfd, int outfd, pid_t parent) gccattr_noreturn ;

#endif
