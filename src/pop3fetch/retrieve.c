/* ISC license. */

#ifdef __linux__
# define _GNU_SOURCE  /* F_SETPIPE_SZ */
#endif

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include <skalibs/allreadwrite.h>
#include <skalibs/bytestr.h>
#include <skalibs/djbunix.h>
#include <skalibs/exec.h>
#include <skalibs/iopause.h>
#include <skalibs/stralloc.h>
#include <skalibs/tai.h>
#include <skalibs/types.h>

#include <mpop/err.h>
#include <mpop/pop3.h>
#include <mpop/settings.h>
#include <mpop/stream.h>
#include <mpop/uidls.h>

#include "pop3fetch.h"

extern char **environ ;

 /* The retrieval engine. One loop waits (iopause, with a deadline) on the
    server, the stream pipe and the ack pipe at once, so that it never
    blocks writing the stream while the deliverer blocks writing acks.
    Memory is bounded: the server is read only while less than OUT_HIGH
    bytes of stream wait to be written, a body is streamed in chunks, and
    at most WINDOW_COUNT RETR commands (about WINDOW_BYTES of messages)
    are outstanding.
    The deliverer is handed at most ACK_WINDOW messages (and, past the
    first, about ACK_BYTES of them) that it has not acked yet: it finds its
    input empty after at most that many, makes them durable together and
    acks them. What a kill can make us deliver again is only what the
    deliverer has made visible but not acked yet, or acked but not yet
    written to the journal file (each batch of acks goes to the journal
    file in one write at once). The server is not slowed down by this: the
    next messages wait in our buffer and the RETR window. */

#define ACK_WINDOW 64          /* messages handed to the deliverer, not yet acked: two of its maildir batches */
#define ACK_BYTES (16 * 1024 * 1024)
#define STREAM_PIPE (1024 * 1024)  /* the stream pipe's size, where it can be set */
#define OUT_HIGH (64 * 1024)
#define READ_CHUNK 16384
#define WINDOW_COUNT 512
#define WINDOW_BYTES (4 * 1024 * 1024)
#define ACK_MAX (UIDLS_LINE_MAX + 2)
#define SYNC_COUNT 64         /* journal lines flushed but not synced, at most */
#define SYNC_MILLISECS 1000   /* how long they may wait for a sync, at most */
#define ORIGIN_MAX 1024       /* user and host; a stream header is at most 4096 bytes */
#define CODE_DELIVERER (-1)   /* the deliverer failed: its exit code decides */

enum rstate_e { R_IDLE, R_STATUS, R_BODY } ;

typedef struct engine_s engine, *engine_ref ;
struct engine_s
{
  session *s ;
  int sfd ;                 /* the stream: deliverer's stdin or our stdout; -1 once closed */
  int afd ;                 /* the acks; -1 in pipe mode or after EOF */
  pid_t pid ;
  stralloc out ;            /* stream bytes; out.s[outpos..out.len) not written yet */
  size_t outpos ;
  uint64_t appended ;       /* stream bytes produced so far */
  uint64_t written ;        /* stream bytes written so far */
  uint64_t msgstart ;       /* value of appended where the current message starts */
  unsigned int next ;       /* next message to send RETR for */
  unsigned int cur ;        /* next message to receive */
  unsigned int nout ;       /* RETRs not completely answered */
  uint64_t bout ;           /* their LIST sizes */
  unsigned int acknext ;    /* next message to be acknowledged */
  unsigned int unflushed ;  /* journal lines added but not written yet */
  unsigned int unsynced ;   /* journal lines not synced yet */
  tain syncby ;             /* when they must be synced (unsynced > 0) */
  int rstate ;
  int finished ;            /* the stream is complete or abandoned */
  int code ;                /* the first late error, 0 if none */
  stralloc msg ;
  stralloc srvmsg ;
  uint64_t got ;            /* wire bytes of the current message */
  unsigned int pct ;
  tain deadline ;
  stralloc tmp ;
  stralloc origin ;         /* "origin=user@host" for the stream headers, or empty */
  size_t acklen ;
  char ack[ACK_MAX] ;
} ;

static void nomem (engine *e)
{
  session_die(e->s, EX_OSERR, "cannot allocate memory", 0) ;
}

 /* Messages without a UID still need a stream uid: a space (which no UID
    from UIDL starts with, and which no UIDLs file accepts) and the number. */
static char const *stream_uid (engine const *e, unsigned int i, char *buf)
{
  char const *uid = session_uid(e->s, i) ;
  if (uid) return uid ;
  buf[0] = ' ' ;
  buf[1 + uint_fmt(buf + 1, i + 1)] = 0 ;
  return buf ;
}

static unsigned int next_retr (session const *s, unsigned int i)
{
  while (i < s->n && !(s->m[i].flags & M_RETR)) i++ ;
  return i ;
}

static void account_appended (engine *e, size_t before)
{
  e->appended += e->out.len - before ;
}

static void compact (engine *e)
{
  if (!e->outpos) return ;
  if (e->outpos == e->out.len) { e->out.len = e->outpos = 0 ; return ; }
  if (e->outpos < e->out.len / 2) return ;
  memmove(e->out.s, e->out.s + e->outpos, e->out.len - e->outpos) ;
  e->out.len -= e->outpos ;
  e->outpos = 0 ;
}

static void put_trailer (engine *e)
{
  size_t before = e->out.len ;
  if (!mpopstream_put_trailer(&e->out)) nomem(e) ;
  account_appended(e, before) ;
}

 /* Ends the stream after a late error: cleanly (with the trailer) when no
    byte of the current message has been written yet, else by cutting it
    short, so that the deliverer discards the partial message. */
static void abandon_stream (engine *e)
{
  if (e->finished) return ;
  e->finished = 1 ;
  if (e->rstate == R_BODY)
  {
    if (e->s->progress) out_progress_end(e->s, 0) ;
    if (e->msgstart >= e->written)
    {
      size_t drop = e->appended - e->msgstart ;
      e->out.len -= drop ;
      e->appended -= drop ;
      put_trailer(e) ;
    }
    else
    {
      e->appended -= e->out.len - e->outpos ;
      e->out.len = e->outpos ;
    }
  }
  else put_trailer(e) ;
  e->rstate = R_IDLE ;
}

static void fail (engine *e, int code, char const *msg, size_t msglen, char const *srvmsg, size_t srvlen)
{
  if (e->code) return ;
  e->code = code ;
  e->msg.len = e->srvmsg.len = 0 ;
  if (!stralloc_catb(&e->msg, msg, msglen) || !stralloc_0(&e->msg)
   || !stralloc_catb(&e->srvmsg, srvmsg, srvlen) || !stralloc_0(&e->srvmsg)) nomem(e) ;
  abandon_stream(e) ;
}

static void fail_text (engine *e, int code, char const *msg)
{
  fail(e, code, msg, strlen(msg), "", 0) ;
}

static void fail_pop3 (engine *e)
{
  pop3 *p = &e->s->p ;
  fail(e, p->code ? p->code : EX_IOERR, p->msg.s, p->msg.len, p->srvmsg.s, p->srvmsg.len) ;
}

 /* The deliverer is gone or broken: nothing more is written to it, its
    remaining acks are still read. */
static void deliverer_failed (engine *e, int code, char const *msg)
{
  if (!e->code)
  {
    if (msg) fail_text(e, code, msg) ;
    else
    {
      e->code = code ;
      abandon_stream(e) ;
    }
  }
  e->appended -= e->out.len - e->outpos ;
  e->out.len = e->outpos = 0 ;
  e->finished = 1 ;
  if (e->sfd >= 0) fd_close(e->sfd) ;
  e->sfd = -1 ;
}

 /* Commands: a window of RETRs, refilled when half of it is answered */
static void fill_window (engine *e)
{
  session *s = e->s ;
  unsigned int max = s->p.pipelining ? WINDOW_COUNT : 1 ;
  uint64_t inflight = e->bout > e->got ? e->bout - e->got : 0 ;
  unsigned int queued = 0 ;
  if (e->code || e->finished) return ;
  e->next = next_retr(s, e->next) ;
  if (e->next >= s->n || e->nout >= max) return ;
  if (e->nout && (e->nout > max / 2 || inflight > WINDOW_BYTES / 2)) return ;
  while (e->next < s->n && e->nout < max && (!e->nout || inflight < WINDOW_BYTES))
  {
    if (pop3_queue_num(&s->p, "RETR", e->next + 1)) { fail_pop3(e) ; return ; }
    e->nout++ ;
    e->bout += s->m[e->next].size ;
    inflight += s->m[e->next].size ;
    queued++ ;
    e->next = next_retr(s, e->next + 1) ;
  }
  if (queued && pop3_flush(&s->p)) { fail_pop3(e) ; return ; }
  if (e->rstate == R_IDLE && e->nout) e->rstate = R_STATUS ;
}

static void begin_message (engine *e)
{
  session *s = e->s ;
  msg const *m = s->m + e->cur ;
  char buf[UINT_FMT + 2] ;
  size_t before ;
  compact(e) ;
  before = e->out.len ;
  e->msgstart = e->appended ;
  s->m[e->cur].spos = e->appended ;
  s->m[e->cur].flags |= M_BEGUN ;
  if (!mpopstream_put_header(&e->out, stream_uid(e, e->cur, buf), m->size, e->cur + 1, (char const *const *)&e->origin.s, !!e->origin.len)) nomem(e) ;
  if (s->received.len)
  {
    e->tmp.len = 0 ;
    if (!received_put(s, &e->tmp) || !mpopstream_put_data(&e->out, e->tmp.s, e->tmp.len)) nomem(e) ;
  }
  account_appended(e, before) ;
  pop3_body_start(&s->p) ;
  e->got = 0 ;
  e->pct = 0 ;
  e->rstate = R_BODY ;
  if (s->progress) out_progress_start(s, e->cur) ;
}

static void end_message (engine *e)
{
  session *s = e->s ;
  size_t before = e->out.len ;
  if (!mpopstream_put_end(&e->out)) nomem(e) ;
  account_appended(e, before) ;
  s->m[e->cur].flags |= M_STREAMED ;
  if (s->progress) out_progress_end(s, 1) ;
  e->nout-- ;
  e->bout -= s->m[e->cur].size ;
  e->got = 0 ;
  e->cur = next_retr(s, e->cur + 1) ;
  e->rstate = e->nout ? R_STATUS : R_IDLE ;
  if (e->cur >= s->n)
  {
    put_trailer(e) ;
    e->finished = 1 ;
  }
}

static void retr_failed (engine *e)
{
  char fmt[UINT_FMT] ;
  stralloc sa = STRALLOC_ZERO ;
  fmt[uint_fmt(fmt, e->cur + 1)] = 0 ;
  if (!stralloc_cats(&sa, "command RETR ") || !stralloc_cats(&sa, fmt) || !stralloc_cats(&sa, " failed") || !stralloc_0(&sa)) nomem(e) ;
  pop3_fail(&e->s->p, EX_PROTOCOL, sa.s) ;
  stralloc_free(&sa) ;
  fail_pop3(e) ;
}

static void read_body (engine *e)
{
  session *s = e->s ;
  char buf[READ_CHUNK] ;
  uint64_t lines = s->p.bodylines ;
  size_t len = 0 ;
  ssize_t r ;
  do
  {
    r = pop3_body_read(&s->p, buf + len, sizeof(buf) - len) ;
    if (r <= 0) break ;
    len += r ;
  } while (len < sizeof(buf) && pop3_pending(&s->p)) ;
  if (len)
  {
    size_t before ;
    compact(e) ;
    before = e->out.len ;
    if (!mpopstream_put_data(&e->out, buf, len)) nomem(e) ;
    account_appended(e, before) ;
    e->got += len + (s->p.bodylines - lines) ;
    if (s->progress) out_progress(s, &e->pct, e->got, s->m[e->cur].size) ;
  }
  if (r < 0) fail_pop3(e) ;
  else if (!r) end_message(e) ;
}

static void read_server (engine *e)
{
  if (e->rstate == R_STATUS)
  {
    int r = pop3_status(&e->s->p) ;
    if (r < 0) { fail_pop3(e) ; return ; }
    if (!r) { retr_failed(e) ; return ; }
    begin_message(e) ;
    if (!pop3_pending(&e->s->p)) return ;
  }
  if (e->rstate == R_BODY) read_body(e) ;
}

static int server_wanted (engine const *e)
{
  return !e->code && e->rstate != R_IDLE && e->sfd >= 0 && e->out.len - e->outpos < OUT_HIGH ;
}

/* How far the stream may be written: up to the start of the message
   ACK_WINDOW messages after the first unacknowledged one, or of the first
   one that starts ACK_BYTES or more after it */
static uint64_t write_limit (engine const *e)
{
  session const *s = e->s ;
  unsigned int i ;
  uint64_t base ;
  if (e->pid <= 0) return UINT64_MAX ;
  i = next_retr(s, e->acknext) ;
  if (i >= s->n || !(s->m[i].flags & M_BEGUN)) return UINT64_MAX ;
  base = s->m[i].spos ;
  for (unsigned int k = 0 ; k < ACK_WINDOW ; k++)
  {
    i = next_retr(s, i + 1) ;
    if (i >= s->n || !(s->m[i].flags & M_BEGUN)) return UINT64_MAX ;
    if (s->m[i].spos - base >= ACK_BYTES) break ;
  }
  return s->m[i].spos ;
}

static size_t writable (engine const *e)
{
  uint64_t limit = write_limit(e) ;
  size_t len = e->out.len - e->outpos ;
  if (e->sfd < 0 || limit <= e->written) return 0 ;
  return limit - e->written < len ? limit - e->written : len ;
}

static void write_stream (engine *e)
{
  ssize_t w = fd_write(e->sfd, e->out.s + e->outpos, writable(e)) ;
  if (w < 0)
  {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return ;
    if (e->afd < 0 && e->pid <= 0)
    {
      stralloc sa = STRALLOC_ZERO ;
      if (!stralloc_cats(&sa, "cannot write to stdout: ") || !stralloc_cats(&sa, strerror(errno)) || !stralloc_0(&sa)) nomem(e) ;
      deliverer_failed(e, EX_IOERR, sa.s) ;
      stralloc_free(&sa) ;
    }
    else deliverer_failed(e, CODE_DELIVERER, 0) ;
    return ;
  }
  e->outpos += w ;
  e->written += w ;
  if (e->outpos == e->out.len) e->out.len = e->outpos = 0 ;
}

 /* Acks: "uid\n" per durably stored message, in stream order */
static void bad_ack (engine *e, char const *why)
{
  deliverer_failed(e, EX_SOFTWARE, why) ;
  fd_close(e->afd) ;
  e->afd = -1 ;
}

static int handle_ack (engine *e, char const *uid, size_t len)
{
  session *s = e->s ;
  char buf[UINT_FMT + 2] ;
  char const *want ;
  stralloc err = STRALLOC_ZERO ;
  unsigned int i = e->acknext = next_retr(s, e->acknext) ;
  if (i >= s->n || !(s->m[i].flags & M_STREAMED))
  {
    bad_ack(e, "the deliverer acknowledged a message it was not sent") ;
    return 0 ;
  }
  want = stream_uid(e, i, buf) ;
  if (len != strlen(want) || memcmp(uid, want, len))
  {
    bad_ack(e, "the deliverer acknowledged messages out of order") ;
    return 0 ;
  }
  s->m[i].flags |= M_ACKED ;
  e->acknext = i + 1 ;
  if (!session_recordable(s, i)) return 1 ;
  if (uidls_journal_add(&s->u, want, s->start, &err))
  {
    if (!err.len) nomem(e) ;
    fail(e, EX_IOERR, err.s, err.len, "", 0) ;
    stralloc_free(&err) ;
    return 1 ;
  }
  e->unflushed++ ;
  if (!e->unsynced++)
  {
    tain_from_millisecs(&e->syncby, SYNC_MILLISECS) ;
    tain_add_g(&e->syncby, &e->syncby) ;
  }
  return 1 ;
}

static int all_acked (engine const *e)
{
  return e->finished && next_retr(e->s, e->acknext) >= e->s->n ;
}

 /* Each batch of acks is written to the journal at once: a kill of
    pop3fetch then loses none of them. Power-loss safety waits for
    sync_journal, in batches. */
static void flush_journal (engine *e)
{
  stralloc err = STRALLOC_ZERO ;
  if (!e->unflushed) return ;
  e->unflushed = 0 ;
  if (!uidls_journal_flush(&e->s->u, &err)) return ;
  if (!err.len) nomem(e) ;
  fail(e, EX_IOERR, err.s, err.len, "", 0) ;
  stralloc_free(&err) ;
}

static void read_acks (engine *e)
{
  size_t start = 0 ;
  ssize_t r = fd_read(e->afd, e->ack + e->acklen, ACK_MAX - e->acklen) ;
  if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return ;
  if (r <= 0)
  {
    fd_close(e->afd) ;
    e->afd = -1 ;
    if (!all_acked(e) || e->acklen) deliverer_failed(e, CODE_DELIVERER, 0) ;
    return ;
  }
  e->acklen += r ;
  for (;;)
  {
    char *nl = memchr(e->ack + start, '\n', e->acklen - start) ;
    if (!nl) break ;
    if (!handle_ack(e, e->ack + start, nl - (e->ack + start))) break ;
    start = nl + 1 - e->ack ;
  }
  flush_journal(e) ;
  if (e->afd < 0) return ;
  memmove(e->ack, e->ack + start, e->acklen - start) ;
  e->acklen -= start ;
  if (e->acklen == ACK_MAX) bad_ack(e, "the deliverer sent an acknowledgement that is too long") ;
}

static void sync_journal (engine *e)
{
  stralloc err = STRALLOC_ZERO ;
  if (!e->unsynced) return ;
  e->unsynced = e->unflushed = 0 ;
  if (!uidls_journal_sync(&e->s->u, &err)) return ;
  if (!err.len) nomem(e) ;
  fail(e, EX_IOERR, err.s, err.len, "", 0) ;
  stralloc_free(&err) ;
}

 /* Syncs a full batch, or one that waited long enough */
static void sync_due (engine *e)
{
  if (e->unsynced >= SYNC_COUNT || (e->unsynced && !tain_future(&e->syncby))) sync_journal(e) ;
}

static void bump_deadline (engine *e)
{
  tain_add_g(&e->deadline, &e->s->p.c.timeout) ;
}

static void timed_out (engine *e, int server)
{
  if (server)
  {
    fail_text(e, EX_IOERR, "network read error: the operation timed out") ;
    bump_deadline(e) ;
    return ;
  }
  deliverer_failed(e, EX_IOERR, "the deliverer timed out") ;
  if (e->afd >= 0) fd_close(e->afd) ;
  e->afd = -1 ;
  if (e->pid > 0) kill(e->pid, SIGKILL) ;
}

static void run (engine *e)
{
  session *s = e->s ;
  tain_now_g() ;
  bump_deadline(e) ;
  for (;;)
  {
    iopause_fd x[4] ;
    unsigned int nx = 0 ;
    int xs = -1, xw = -1, xa = -1, pending = 0, r ;
    if (aborted && !e->code) fail_text(e, EX_IOERR, "operation aborted") ;
    fill_window(e) ;
    if (e->finished && e->sfd >= 0 && e->outpos == e->out.len)
    {
      fd_close(e->sfd) ;
      e->sfd = -1 ;
    }
    if (server_wanted(e))
    {
      if (pop3_pending(&s->p)) pending = 1 ;
      else
      {
        x[nx].fd = pop3_fd(&s->p) ; x[nx].events = IOPAUSE_READ ; xs = nx++ ;
      }
    }
    if (writable(e))
    {
      x[nx].fd = e->sfd ; x[nx].events = IOPAUSE_WRITE ; xw = nx++ ;
    }
    if (e->afd >= 0)
    {
      x[nx].fd = e->afd ; x[nx].events = IOPAUSE_READ ; xa = nx++ ;
    }
    if (!nx && !pending) break ;
    if (!aborted)
    {
      x[nx].fd = abort_fd ; x[nx].events = IOPAUSE_READ ; nx++ ;
    }
    r = iopause_g(x, nx, pending ? &STAMP : e->unsynced && tain_less(&e->syncby, &e->deadline) ? &e->syncby : &e->deadline) ;
    if (r < 0)
    {
      if (errno == EINTR) continue ;
      mpop_diesys(EX_OSERR, "iopause") ;
    }
    if (!r && !pending)
    {
      if (e->unsynced && !tain_future(&e->syncby)) sync_journal(e) ;
      else timed_out(e, xs >= 0) ;
      continue ;
    }
    bump_deadline(e) ;
    if (xa >= 0 && x[xa].revents) read_acks(e) ;
    if (xw >= 0 && x[xw].revents && writable(e)) write_stream(e) ;
    if (server_wanted(e) && (pending || (xs >= 0 && x[xs].revents))) read_server(e) ;
    sync_due(e) ;
  }
  sync_journal(e) ;
}

 /* The deliverer: stdin the stream, stdout the acks, stderr ours. The
    banner is in the stream pipe before the deliverer exists: whenever we
    die, it reads an mpop-stream, never an empty input that it could take
    for a message. An exec failure comes back through a close-on-exec pipe. */
static void spawn_failed (engine *e, int err)
{
  stralloc sa = STRALLOC_ZERO ;
  if (!stralloc_cats(&sa, "cannot run ") || !stralloc_cats(&sa, e->s->deliverer[0]) || !stralloc_cats(&sa, ": ") || !stralloc_cats(&sa, strerror(err)) || !stralloc_0(&sa)) nomem(e) ;
  session_die(e->s, EX_IOERR, sa.s, 0) ;
}

static void spawn_child (char const *const *argv, int const *sp, int const *ap, int xfd)
{
  int err ;
  fd_close(sp[1]) ;
  fd_close(ap[0]) ;
  if (fd_move(0, sp[0]) < 0 || fd_move(1, ap[1]) < 0) err = errno ;
  else
  {
    exec(argv) ;
    err = errno ;
  }
  if (write(xfd, &err, sizeof(err)) < 0) _exit(127) ;
  _exit(127) ;
}

static void spawn_deliverer (engine *e)
{
  session *s = e->s ;
  int sp[2], ap[2], xp[2] ;
  int err ;
  ssize_t r ;
  if (!mpopstream_put_banner(&e->out)) nomem(e) ;
  if (pipe(sp) < 0 || pipe(ap) < 0 || pipecoe(xp) < 0) mpop_diesys(EX_OSERR, "cannot create the pipes to the deliverer") ;
#ifdef F_SETPIPE_SZ
  fcntl(sp[1], F_SETPIPE_SZ, STREAM_PIPE) ;  /* the deliverer's syncs hold us back less; a smaller pipe still works */
#endif
  if (fd_write(sp[1], e->out.s, e->out.len) != (ssize_t)e->out.len) mpop_diesys(EX_OSERR, "cannot write to the pipe to the deliverer") ;
  e->appended = e->written = e->out.len ;
  e->out.len = 0 ;
  e->pid = fork() ;
  if (e->pid < 0) spawn_failed(e, errno) ;
  if (!e->pid)
  {
    fd_close(xp[0]) ;
    spawn_child((char const *const *)s->deliverer, sp, ap, xp[1]) ;
  }
  fd_close(sp[0]) ;
  fd_close(ap[1]) ;
  fd_close(xp[1]) ;
  do r = read(xp[0], &err, sizeof(err)) ;
  while (r < 0 && errno == EINTR) ;
  fd_close(xp[0]) ;
  if (r == sizeof(err))
  {
    int wstat ;
    waitpid_nointr(e->pid, &wstat, 0) ;
    e->pid = 0 ;
    fd_close(sp[1]) ;
    fd_close(ap[0]) ;
    spawn_failed(e, err) ;
  }
  e->afd = ap[0] ;
  e->sfd = sp[1] ;
  if (ndelay_on(e->afd) < 0 || ndelay_on(e->sfd) < 0 || coe(e->afd) < 0 || coe(e->sfd) < 0)
    mpop_diesys(EX_OSERR, "cannot set up the pipes to the deliverer") ;
}

 /* Waits for the deliverer, at most the timeout once its pipes are closed */
static int reap (engine *e)
{
  tain deadline ;
  int wstat ;
  tain_now_g() ;
  tain_add_g(&deadline, &e->s->p.c.timeout) ;
  for (;;)
  {
    pid_t r = waitpid(e->pid, &wstat, WNOHANG) ;
    if (r == e->pid) return wait_estatus(wstat) ;
    if (r < 0 && errno != EINTR) mpop_diesys(EX_OSERR, "cannot wait for the deliverer") ;
    tain_now_g() ;
    if (!tain_future(&deadline))
    {
      kill(e->pid, SIGKILL) ;
      if (waitpid_nointr(e->pid, &wstat, 0) < 0) mpop_diesys(EX_OSERR, "cannot wait for the deliverer") ;
      return wait_estatus(wstat) ;
    }
    {
      tain t ;
      tain_from_millisecs(&t, 10) ;
      tain_add_g(&t, &t) ;
      iopause_g(0, 0, &t) ;
    }
  }
}

static void deliverer_status (engine *e, int status)
{
  char fmt[UINT_FMT] ;
  stralloc sa = STRALLOC_ZERO ;
  if (!status && all_acked(e))
  {
    if (e->code == CODE_DELIVERER) e->code = 0 ;
    return ;
  }
  if (e->code && e->code != CODE_DELIVERER) return ;
  if (status >= EX__BASE && status <= EX__MAX)
  {
    e->code = status ;
    return ;
  }
  fmt[uint_fmt(fmt, status > 128 ? status - 128 : status)] = 0 ;
  if (!stralloc_cats(&sa, "deliverer ") || !stralloc_cats(&sa, e->s->deliverer[0])) nomem(e) ;
  if (!status) { if (!stralloc_cats(&sa, " exited without acknowledging every message")) nomem(e) ; }
  else if (status > 128) { if (!stralloc_cats(&sa, " was killed by signal ") || !stralloc_cats(&sa, fmt)) nomem(e) ; }
  else if (!stralloc_cats(&sa, " failed with exit status ") || !stralloc_cats(&sa, fmt)) nomem(e) ;
  e->code = 0 ;
  fail(e, EX_IOERR, sa.s, sa.len, "", 0) ;
  stralloc_free(&sa) ;
}

static void stdout_ready (engine *e)
{
  struct stat st ;
  e->sfd = 1 ;
  e->afd = -1 ;
  e->pid = 0 ;
  if (fstat(1, &st) < 0) mpop_diesys(EX_IOERR, "cannot fstat stdout") ;
  if ((S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)) && ndelay_on(1) < 0)
    mpop_diesys(EX_IOERR, "cannot set stdout non-blocking") ;
}

 /* The mailbox the UIDs belong to, as the UIDLs file names it: lets a
    deliverer recognise, after a kill, a message it has stored already */
static void origin_init (engine *e)
{
  session const *s = e->s ;
  if (!s->user || !s->host || strchr(s->user, '\n') || strchr(s->host, '\n')
   || strlen(s->user) + strlen(s->host) > ORIGIN_MAX) return ;
  if (!stralloc_cats(&e->origin, "origin=") || !stralloc_cats(&e->origin, s->user)
   || !stralloc_catb(&e->origin, "@", 1) || !stralloc_cats(&e->origin, s->host) || !stralloc_0(&e->origin)) nomem(e) ;
}

 /* Retrieves every message marked M_RETR; returns only when the session
    is still consistent (no late error). */
void session_retrieve (session *s)
{
  engine e = { .s = s, .sfd = -1, .afd = -1, .pid = 0, .out = STRALLOC_ZERO, .msg = STRALLOC_ZERO, .srvmsg = STRALLOC_ZERO, .tmp = STRALLOC_ZERO, .origin = STRALLOC_ZERO } ;
  e.cur = next_retr(s, 0) ;
  if (s->deliverer)
  {
    if (e.cur >= s->n) return ;
    spawn_deliverer(&e) ;
  }
  else stdout_ready(&e) ;
  origin_init(&e) ;
  if (e.cur < s->n && settings_onoff(s->a.v[S_RECEIVED_HEADER] ? s->a.v[S_RECEIVED_HEADER] : settings_table[S_RECEIVED_HEADER].def))
    received_init(s) ;
  if (e.cur >= s->n)
  {
    put_trailer(&e) ;
    e.finished = 1 ;
  }
  run(&e) ;
  if (e.pid > 0) deliverer_status(&e, reap(&e)) ;
  sync_journal(&e) ;
  if (e.code)
  {
    out_flush(s) ;
    session_die(s, e.code == CODE_DELIVERER ? EX_IOERR : e.code, e.msg.s, e.srvmsg.s) ;
  }
  stralloc_free(&e.out) ;
  stralloc_free(&e.msg) ;
  stralloc_free(&e.srvmsg) ;
  stralloc_free(&e.tmp) ;
  stralloc_free(&e.origin) ;
}
