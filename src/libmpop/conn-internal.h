/* ISC license. */

#ifndef MPOP_CONN_INTERNAL_H
#define MPOP_CONN_INTERNAL_H

#include <sys/types.h>

#include <skalibs/tai.h>

#include <mpop/conn.h>

 /* Error reporting: sets c->code and c->err (the parts concatenated, then
    ": strerror(errno)" for the sys variant), returns the code. */
extern int conn_failv (conn *, int code, int withsys, char const *const *parts, unsigned int n) ;
#define conn_fail(c, code, ...) conn_failv(c, code, 0, (char const *const[]){ __VA_ARGS__ }, sizeof((char const *const[]){ __VA_ARGS__ }) / sizeof(char const *))
#define conn_failsys(c, code, ...) conn_failv(c, code, 1, (char const *const[]){ __VA_ARGS__ }, sizeof((char const *const[]){ __VA_ARGS__ }) / sizeof(char const *))
#define conn_nomem(c) conn_failsys(c, EX_OSERR, "cannot allocate memory")

 /* deadline = now + c->timeout */
extern void conn_deadline (conn const *, tain *deadline) ;

 /* Waits until fd is ready for events or the deadline passes: 1 ready,
    0 timeout, -1 error (errno). */
extern int conn_wait (int fd, short events, tain const *deadline) ;

 /* Non-blocking connect of fd to sa with a deadline: 1, or 0 with errno */
struct sockaddr ;
extern int conn_connect_fd (int fd, struct sockaddr const *sa, unsigned int salen, tain const *deadline) ;

 /* SOCKS5 CONNECT to host:port on an established connection */
extern int conn_socks5 (conn *, char const *host, unsigned int port) ;

 /* TLS layer (tls.c) */
extern ssize_t conn_tls_read (conn *, char *buf, size_t max) ;
extern int conn_tls_write (conn *, char const *s, size_t len) ;
extern int conn_tls_pending (conn const *) ;
extern void conn_tls_close (conn *) ;

#endif
