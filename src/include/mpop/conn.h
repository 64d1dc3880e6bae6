/* ISC license. */

#ifndef MPOP_CONN_H
#define MPOP_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>

#include <skalibs/stralloc.h>
#include <skalibs/tai.h>

#include <mpop/account.h>

 /* A byte stream to a server: TCP (every address of the host in order,
    optional source_ip), a unix socket, SOCKS5 through proxy_host (the
    target name is resolved by the proxy), or an already connected UCSPI
    pair on fds 6 (read) and 7 (write). TLS with BearSSL runs on top of it,
    right away or later (STLS). Every wait (connect, handshake, each read,
    each flush) has the deadline now + timeout.

    Functions that can fail return 0 on success or a sysexits code, with the
    message (without the program name) in c->err. */

#define CONN_UCSPI 0x01       /* use fds 6/7 instead of connecting */
#define CONN_CANON 0x02       /* find the canonical name of the address (for -S) */

#define CONN_OUTSIZE 4096

typedef struct conn_tlsinfo_s conn_tlsinfo, *conn_tlsinfo_ref ;
struct conn_tlsinfo_s
{
  uint16_t version ;          /* BR_TLS12 etc. */
  uint16_t suite ;            /* IANA cipher suite number */
  stralloc cert ;             /* DER of the server's end-entity certificate */
  unsigned char sha256[32] ;
  unsigned char sha1[20] ;
  unsigned char md5[16] ;
} ;
#define CONN_TLSINFO_ZERO { .version = 0, .suite = 0, .cert = STRALLOC_ZERO }

struct conn_tls_s ;

typedef struct conn_s conn, *conn_ref ;
struct conn_s
{
  int rfd ;
  int wfd ;
  tain timeout ;              /* relative; infinite for "timeout off" */
  struct conn_tls_s *tls ;    /* 0 while in clear text */
  char out[CONN_OUTSIZE] ;    /* clear-text output queue */
  size_t outlen ;
  stralloc peername ;         /* for messages and -S: "HOST, port N" etc. */
  stralloc canon ;            /* canonical name of the server, or empty */
  stralloc addr ;             /* numeric address connected to, or empty */
  int code ;                  /* last error: sysexits code */
  stralloc err ;              /* last error: message */
  int tcp ;                   /* rfd is a TCP socket */
  struct sockaddr_storage peer ;  /* the address connected to, if tcp */
  socklen_t peerlen ;
} ;
#define CONN_ZERO { .tcp = 0, .peerlen = 0, .rfd = -1, .wfd = -1, .tls = 0, .outlen = 0, .peername = STRALLOC_ZERO, .canon = STRALLOC_ZERO, .addr = STRALLOC_ZERO, .code = 0, .err = STRALLOC_ZERO }

 /* Connects as the account says (host, port, socket, source_ip, proxy_*,
    timeout); with CONN_UCSPI takes fds 6/7. Does not start TLS. */
extern int conn_open (conn *, account const *, unsigned int flags) ;

 /* Fills c->canon, if still empty, with the name of the address connected
    to (reverse lookup), when there is one. Without CONN_CANON, conn_open
    leaves this lookup (and the resolver it needs) until it is wanted. */
extern void conn_lookup_canon (conn *) ;

 /* 4 or 16 if s is an IPv4 or plain IPv6 address (stored in ip), 0 if
    not or if the libc must judge (zones, embedded IPv4) */
extern unsigned int conn_ip_literal (char const *s, char *ip) ;

 /* Checks every TLS setting of the account (files readable, fingerprint,
    priorities) without connecting: config errors come out before any
    network activity. */
extern int conn_tls_check (account const *, stralloc *err) ;

 /* Runs the TLS handshake on the connection (implicit TLS or after STLS),
    verifying the server as the account says. */
extern int conn_tls_start (conn *, account const *) ;

 /* Fills info from the established TLS session: 1, or 0 if there is
    none or memory is short. */
extern int conn_tls_info (conn const *, conn_tlsinfo *info) ;
extern void conn_tlsinfo_free (conn_tlsinfo *) ;

 /* Reads at least one byte (waiting up to the deadline): > 0 bytes read,
    0 EOF (the caller decides whether that is an error), -1 error (c->code,
    c->err set). */
extern ssize_t conn_read (conn *, char *buf, size_t max) ;

 /* Queues bytes (flushing when the queue is full) / sends everything
    queued. 0 or a sysexits code. */
extern int conn_put (conn *, char const *s, size_t len) ;
extern int conn_flush (conn *) ;

 /* What the caller may iopause on for reading, and whether bytes can be
    read without touching the network (decrypted bytes inside TLS). */
#define conn_fd(c) ((c)->rfd)
extern int conn_pending (conn const *) ;

 /* Whether TLS is active */
#define conn_is_tls(c) (!!(c)->tls)

 /* Closes everything (sends a TLS close_notify if possible, without
    waiting for the peer's), wipes TLS secrets, frees memory. */
extern void conn_close (conn *) ;

 /* Names for display (BearSSL's terms) */
extern char const *conn_tls_version_name (uint16_t) ;
extern char const *conn_tls_suite_name (uint16_t) ;

#endif
