/* ISC license. */

#ifndef MPOP_POP3_H
#define MPOP_POP3_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <skalibs/stralloc.h>

#include <mpop/account.h>
#include <mpop/conn.h>

 /* The POP3 client core.

    Every function that can fail returns a negative value or a sysexits
    code as documented, and leaves the error in the session: p->code (a
    sysexits code), p->msg (the text, without the program name) and, when
    the server said something about it, p->srvmsg (its line, sanitised).
    The caller prints "PROG: msg" then, if srvmsg is not empty,
    "PROG: POP3 server message: srvmsg". After an error, the session is
    only good for pop3_drop(). */

#define POP3_LINE_MAX 8192     /* a status or list line this long (before its LF) is refused */
#define POP3_CMD_MAX 8189      /* longest command, as mpop 1.4.22+ */
#define POP3_INSIZE 16384      /* read buffer */

 /* Capabilities (p->caps) */
#define POP3_CAP_CAPA 0x0001            /* CAPA worked */
#define POP3_CAP_TOP 0x0002
#define POP3_CAP_UIDL 0x0004
#define POP3_CAP_PIPELINING 0x0008
#define POP3_CAP_USER 0x0010
#define POP3_CAP_STLS 0x0020
#define POP3_CAP_RESP_CODES 0x0040
#define POP3_CAP_AUTH_RESP_CODE 0x0080
#define POP3_CAP_SASL 0x0100            /* mechanisms in p->sasl */
#define POP3_CAP_IMPLEMENTATION 0x0200  /* text in p->implementation */
#define POP3_CAP_LOGIN_DELAY 0x0400     /* seconds in p->login_delay */
#define POP3_CAP_EXPIRE 0x0800          /* days in p->expire */
#define POP3_CAP_APOP 0x1000            /* the greeting had a usable timestamp */

#define POP3_EXPIRE_NEVER ((unsigned long)-1)

 /* Open flags */
#define POP3_UCSPI 0x01                 /* fds 6/7 (CONN_UCSPI) */
#define POP3_SECURED 0x02               /* the stream is already encrypted by a helper
                                           (with POP3_UCSPI): no TLS of our own, but
                                           counted as TLS when choosing auth methods */
#define POP3_CANON 0x04                 /* look up the server's canonical name (CONN_CANON) */

 /* Trace directions */
#define POP3_TRACE_IN 0                 /* "<-- " server to client */
#define POP3_TRACE_OUT 1                /* "--> " client to server */

typedef struct pop3_s pop3, *pop3_ref ;

 /* A trace hook sees every protocol line (without CRLF), secrets already
    masked. Body lines of RETR/TOP are not traced. */
typedef void pop3_trace_func (pop3 *, int dir, char const *line, size_t len) ;

 /* The SASL hook point: authenticates with mechanism mech (upper case).
    Returns 0, or a sysexits code with the error left in the session. */
typedef int pop3_sasl_func (pop3 *, char const *mech, char const *user, char const *password) ;

 /* Whether the SASL hook can do mechanism mech (upper case): 1 or 0 */
typedef int pop3_sasl_supports_func (char const *mech) ;

struct pop3_s
{
  conn c ;
  account const *a ;
  unsigned int caps ;
  stralloc sasl ;                /* "MECH1 MECH2 ..." upper case, from CAPA SASL */
  stralloc implementation ;
  unsigned long login_delay ;
  unsigned long expire ;
  stralloc greeting ;            /* text after "+OK ", sanitised */
  stralloc timestamp ;           /* APOP "<...>", or empty */
  int pipelining ;               /* decided: 1 pipeline commands, 0 not */
  int pipelining_setting ;       /* -1 auto, 0 off, 1 on */
  int authenticated ;
  int secured ;                  /* TLS active, or POP3_SECURED */
  int code ;
  stralloc msg ;
  stralloc srvmsg ;
  stralloc line ;                /* last status line read, without CRLF */
  char in[POP3_INSIZE] ;
  size_t inpos ;
  size_t inlen ;
  int bodystate ;                /* internal state of pop3_body_read */
  uint64_t bodylines ;           /* line ends that pop3_body_read gave */
  pop3_trace_func *trace ;
  pop3_sasl_func *sasl_hook ;
  pop3_sasl_supports_func *sasl_supports ;   /* 0: every mechanism */
} ;
#define POP3_ZERO { .c = CONN_ZERO, .a = 0, .caps = 0, .sasl = STRALLOC_ZERO, .implementation = STRALLOC_ZERO, .login_delay = 0, .expire = 0, .greeting = STRALLOC_ZERO, .timestamp = STRALLOC_ZERO, .pipelining = 0, .pipelining_setting = -1, .authenticated = 0, .secured = 0, .code = 0, .msg = STRALLOC_ZERO, .srvmsg = STRALLOC_ZERO, .line = STRALLOC_ZERO, .inpos = 0, .inlen = 0, .bodystate = 0, .bodylines = 0, .trace = 0, .sasl_hook = 0, .sasl_supports = 0 }

 /* Session setup. pop3_open connects (conn_open), does implicit TLS when
    tls is on and tls_starttls off, reads the greeting (keeping the APOP
    timestamp), asks CAPA, and with tls + tls_starttls runs STLS (refusing
    clear-text bytes after +OK), the handshake, and CAPA again. Set
    p->trace before calling it to trace. TLS settings are checked before
    connecting. The library never prints: with tls_certcheck off the
    caller warns. 0 or a sysexits code. */
extern int pop3_open (pop3 *, account const *, unsigned int flags) ;

 /* Asks CAPA again and parses it, forgetting what was known (after STLS)
    or adding to it (after login, as mpop does: servers often list fewer
    capabilities then). A -ERR reply clears the capabilities in the first
    case and changes nothing in the second. 0 or code. */
extern int pop3_capa (pop3 *) ;
extern int pop3_capa_more (pop3 *) ;

 /* Authenticates per the auth setting: "user" (USER/PASS, pipelined when
    possible), "apop" (MD5 of timestamp and password), a SASL mechanism
    through p->sasl_hook, or "on": the first usable method in mpop
    1.4.23's order (under TLS: SCRAM-SHA-256, SCRAM-SHA-1, PLAIN, APOP,
    USER, ...; without TLS: only methods that do not reveal the
    password). password may be 0 when the method needs none. 0 or a sysexits code (77 for a rejected login, 69 for no usable
    method, 75 for [IN-USE]/[LOGIN-DELAY]/[SYS/TEMP]). */
extern int pop3_login (pop3 *, char const *user, char const *password) ;

 /* The method pop3_login would use (lower case), or 0 with the error in
    the session. */
extern char const *pop3_auth_method (pop3 *) ;

 /* After login: asks CAPA again when it worked before and something we
    want was missing (UIDL, PIPELINING with pipelining auto, or TOP when
    needtop), as mpop does for servers that list more after login
    (pop3_capa_more). */
extern int pop3_capa_after_login (pop3 *, int needtop) ;

 /* Commands. pop3_queue* buffer "CMD[ ARG]\r\n" without sending (to
    pipeline); pop3_flush sends what is queued. The secret variant traces
    the argument as "********" (PASS, AUTH initial responses), or the
    whole line when arg is 0 (SASL responses: pop3_queue_secret(p, b64,
    0)). A command longer than POP3_CMD_MAX, or with a line break in it,
    is an error (65). A caller pipelining many commands must read replies
    between flushes (keep the queued-but-unanswered commands bounded,
    e.g. a window of a few hundred) so that neither side blocks on a full
    TCP window. 0 or code. */
extern int pop3_queue (pop3 *, char const *cmd, char const *arg) ;
extern int pop3_queue_secret (pop3 *, char const *cmd, char const *arg) ;
extern int pop3_queue_num (pop3 *, char const *cmd, unsigned long n) ;
extern int pop3_flush (pop3 *) ;

 /* Reads one status line into p->line: 1 for a reply starting with '+',
    0 for one starting with '-' (p->srvmsg is set, p->line kept), -1 for
    an error (I/O, EOF, timeout, a line longer than POP3_LINE_MAX, a line
    not starting with + or -) with p->code and p->msg set. */
extern int pop3_status (pop3 *) ;

 /* Queue + flush + status in one go. Returns as pop3_status. */
extern int pop3_command (pop3 *, char const *cmd, char const *arg) ;

 /* For a -ERR reply: the exit code its response code implies ([AUTH] 77,
    [SYS/PERM] 69, [IN-USE], [LOGIN-DELAY], [SYS/TEMP] 75), else dflt. */
extern int pop3_errcode (pop3 const *, int dflt) ;

 /* For a -ERR reply with a temporary response code: what it means, in
    words ("the mailbox is in use by another session"), else 0. */
extern char const *pop3_errwhy (pop3 const *) ;

 /* Sets p->code, p->msg ("command CMD failed" style text from the caller)
    and p->srvmsg from p->line, and returns the code. */
extern int pop3_fail (pop3 *, int code, char const *msg) ;

 /* One line of a multi-line reply (LIST, UIDL, CAPA, TOP headers...):
    1 with the line in *line (dot-unstuffed, without CRLF; line->len
    excludes a NUL written after it), 0 at the terminating ".", -1 error
    (EOF, I/O, timeout, line longer than POP3_LINE_MAX). */
extern int pop3_getline (pop3 *, stralloc *line) ;

 /* Streams a multi-line body (after a +OK to RETR or TOP): up to max bytes
    of dot-unstuffed content with CRLF (and bare LF) turned into LF, across
    any chunk boundary, with no line-length limit. > 0 bytes, 0 at the
    terminating "." (the reply is consumed), -1 error. max must be at
    least 1. Call pop3_body_start first; bodylines counts the LFs given
    (each stood for a CRLF or a bare LF on the wire). */
extern void pop3_body_start (pop3 *) ;
extern ssize_t pop3_body_read (pop3 *, char *buf, size_t max) ;

 /* For iopause: the fd to wait on for reading, and whether reading can
    progress without the network (bytes already buffered or decrypted, or
    a body whose terminating "." was consumed with its last data, so that
    the next pop3_body_read returns 0 at once). */
#define pop3_fd(p) conn_fd(&(p)->c)
extern int pop3_pending (pop3 const *) ;

 /* QUIT when the session is consistent: 0 or code (the connection is
    closed either way). pop3_drop closes without QUIT (the server rolls
    back deletions). pop3_free frees what remains (also after drop/quit). */
extern int pop3_quit (pop3 *) ;
extern void pop3_drop (pop3 *) ;
extern void pop3_free (pop3 *) ;

 /* The standard -d trace: "<-- LINE" / "--> LINE" on stderr or stdout
    (through buffer_2 or buffer_1, flushed at each line) */
extern pop3_trace_func pop3_trace_stderr ;
extern pop3_trace_func pop3_trace_stdout ;

#endif
