/* ISC license. */

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sysexits.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>

#include <skalibs/allreadwrite.h>
#include <skalibs/buffer.h>
#include <skalibs/gccattributes.h>
#include <skalibs/sgetopt.h>
#include <skalibs/sig.h>
#include <skalibs/stralloc.h>

#include <mpop/deliver.h>
#include <mpop/envfrom.h>
#include <mpop/err.h>
#include <mpop/settings.h>
#include <mpop/stream.h>

#define USAGE "mdeliver [ -1 ] [ -q ] [ -f sender ] [ maildir dir | mbox file | mda command | exchange dir ]"

#define BATCH_MAX 2               /* messages made durable together, at most */
#define BATCH_RECORDED 32         /* the same, when the batch record names them all */
#define READER_GRACE_MS 20        /* how long a cut stream waits to see the fetcher gone */
#define LINGER_MS 1               /* how long a batch waits for more input */
#define ACKWAIT_TRIES 1000        /* 100 us each: how long acks may wait to be read */
#define LOOKAHEAD_MAX 1048576     /* header bytes held to find the sender */

static deliver d = DELIVER_ZERO ;
static stralloc err = STRALLOC_ZERO ;
static char inbuf[65536 + 1] ;
static ssize_t stream_read (int, struct iovec const *, unsigned int) ;
static buffer in = BUFFER_INIT(&stream_read, 0, inbuf, sizeof(inbuf)) ;
static mpopstream_reader reader ;
static int ackpipe = 0 ;
static int quietcut = 0 ;


 /* What to do with one message: start it once its sender is known */

typedef struct sink_s sink, *sink_ref ;
struct sink_s
{
  char const *given ;
  envfrom f ;
  stralloc look ;
  int started ;
} ;
#define SINK_ZERO { .given = 0, .f = ENVFROM_ZERO, .look = STRALLOC_ZERO, .started = 0 }

static int nomem (void)
{
  err.len = 0 ;
  return EX_OSERR ;
}

static int sink_begin (sink *k, char const *sender)
{
  int r ;
  if (!sender) return nomem() ;
  r = deliver_begin(&d, sender, &err) ;
  if (r) return r ;
  k->started = 1 ;
  r = k->look.len ? deliver_write(&d, k->look.s, k->look.len, &err) : 0 ;
  k->look.len = 0 ;
  return r ;
}

static int sink_start (sink *k)
{
  k->look.len = 0 ;
  k->started = 0 ;
  envfrom_free(&k->f) ;
  if (k->given) return sink_begin(k, k->given) ;
  if (!deliver_needs_sender(&d)) return sink_begin(k, ENVFROM_DEFAULT) ;
  return 0 ;
}

static int sink_data (sink *k, char const *s, size_t len)
{
  int done ;
  if (k->started) return deliver_write(&d, s, len, &err) ;
  if (!stralloc_catb(&k->look, s, len)) return nomem() ;
  done = envfrom_feed(&k->f, s, len) ;
  if (done < 0) return nomem() ;
  if (done || k->look.len >= LOOKAHEAD_MAX) return sink_begin(k, envfrom_finish(&k->f)) ;
  return 0 ;
}

static int sink_end (sink *k)
{
  if (!k->started)
  {
    int r = sink_begin(k, envfrom_finish(&k->f)) ;
    if (r) return r ;
  }
  k->started = 0 ;
  return deliver_commit(&d, &err) ;
}

static void sink_abort (sink *k)
{
  deliver_abort(&d) ;
  k->started = 0 ;
  k->look.len = 0 ;
}


 /* Failures */

static void die_err (int) gccattr_noreturn ;
static void die_err (int code)
{
  if (code == EX_OSERR && !err.len) mpop_dienomem() ;
  mpop_die(code, err.s) ;
}

static void on_signal (int sig)
{
  deliver_emergency(&d) ;
  signal(sig, SIG_DFL) ;
  raise(sig) ;
}

static void catch_signals (void)
{
  static int const sigs[3] = { SIGHUP, SIGINT, SIGTERM } ;
  for (unsigned int i = 0 ; i < 3 ; i++)
    if (!sig_catch(sigs[i], &on_signal)) mpop_diesys(EX_OSERR, "cannot install a signal handler") ;
  sig_ignore(SIGPIPE) ;
  sig_ignore(SIGXFSZ) ;
}


 /* Stream mode: deliver each complete message, ack it once durable */

 /* Acks still in the pipe are not recorded by the fetcher yet: while they
    wait, the messages they ack would be delivered again after a kill. So
    after writing a batch of acks we wait (a little, at most) until they
    were read: the fetcher gets the processor at once, and no more than
    one batch is ever exposed like this; in a maildir, the batch record
    names them until then. */
static int wait_acks_read (void)
{
#ifdef FIONREAD
  struct timespec pause = { .tv_sec = 0, .tv_nsec = 100000 } ;
  if (!ackpipe) return 1 ;
  for (unsigned int i = 0 ; i < ACKWAIT_TRIES ; i++)
  {
    int n ;
    if (ioctl(1, FIONREAD, &n) < 0) return 0 ;
    if (!n) return 1 ;
    nanosleep(&pause, 0) ;
  }
  return 0 ;
#else
  return !ackpipe ;
#endif
}

 /* Whether the fetcher can still read acks: when it is gone (killed),
    messages not yet durable are not made visible, since nobody would
    record them; they stay on the server and come again. A killed
    fetcher's stream end may close a moment before its ack end: a cut
    stream gives the ack end READER_GRACE_MS to close too. */
static int ack_reader_gone (int ms)
{
  struct pollfd p = { .fd = 1, .events = 0, .revents = 0 } ;
  if (!ackpipe) return 0 ;
  return poll(&p, 1, ms) > 0 && p.revents & POLLERR ;
}

 /* Makes the committed messages durable, then acks them; nothing is made
    visible for a fetcher that is gone */
static int sync_and_ack (stralloc *acks, int ended)
{
  static int unread = 0 ;
  int r ;
  if (acks->len && ack_reader_gone(0))
  {
    acks->len = 0 ;
    err.len = 0 ;
    if (!stralloc_cats(&err, "cannot write acks to standard output: the fetcher is gone") || !stralloc_0(&err)) return nomem() ;
    return EX_IOERR ;
  }
  r = deliver_sync(&d, &err) ;
  if (r) { acks->len = 0 ; return r ; }
  if (acks->len && allwrite(1, acks->s, acks->len) < acks->len)
  {
    acks->len = 0 ;
    err.len = 0 ;
    if (!stralloc_cats(&err, "cannot write acks to standard output: ") || !stralloc_cats(&err, strerror(errno)) || !stralloc_0(&err)) return nomem() ;
    return EX_IOERR ;
  }
  if (acks->len) unread = 1 ;
  acks->len = 0 ;
  if (unread && !wait_acks_read()) return 0 ;
  unread = 0 ;
  deliver_record_acked(&d, ended) ;
  return 0 ;
}

 /* At the end of a broken stream: what was committed before still gets
    acked if it can be made durable and the fetcher can record it */
static void ack_committed (stralloc *acks)
{
  if (acks->len && !ack_reader_gone(READER_GRACE_MS))
  {
    int r = sync_and_ack(acks, 0) ;
    if (r) mpop_warn(r == EX_OSERR && !err.len ? "cannot allocate memory" : err.s) ;
  }
  deliver_close(&d) ;
}

 /* A failure in the middle of the stream: what was committed before is
    acked if it can be, then we die with code. */
static void stream_fail (sink *, stralloc *, int) gccattr_noreturn ;
static void stream_fail (sink *k, stralloc *acks, int code)
{
  stralloc msg = STRALLOC_ZERO ;
  sink_abort(k) ;
  if (code == EX_OSERR && !err.len) mpop_dienomem() ;
  if (!stralloc_copy(&msg, &err)) mpop_dienomem() ;
  ack_committed(acks) ;
  mpop_die(code, msg.s) ;
}

 /* -q: the producer cut the stream short and says why itself */
static void stream_cut (sink *, stralloc *) gccattr_noreturn ;
static void stream_cut (sink *k, stralloc *acks)
{
  sink_abort(k) ;
  ack_committed(acks) ;
  _exit(EX_DATAERR) ;
}

static void stream_broken (sink *, stralloc *, int, char const *, int) gccattr_noreturn ;
static void stream_broken (sink *k, stralloc *acks, int code, char const *why, int e)
{
  err.len = 0 ;
  if ((code == EX_DATAERR && !stralloc_cats(&err, "malformed mpop-stream: ")) || !stralloc_cats(&err, why) || (e && (!stralloc_cats(&err, ": ") || !stralloc_cats(&err, strerror(e)))) || !stralloc_0(&err)) err.len = 0 ;
  stream_fail(k, acks, code) ;
}

static sink *batch_sink ;
static stralloc acks = STRALLOC_ZERO ;
static unsigned int npending = 0 ;
static unsigned int nunrecorded = 0 ;

static void sync_batch (int ended)
{
  int r = sync_and_ack(&acks, ended) ;
  if (r) stream_fail(batch_sink, &acks, r) ;
  npending = nunrecorded = 0 ;
}

static int batch_full (void)
{
  return npending >= (nunrecorded ? BATCH_MAX : BATCH_RECORDED) ;
}

 /* Every read of the input: before a read would wait, even in the middle
    of a message, the pending batch is synced and acked, after waiting a
    little for more input (the fetcher is not held back meanwhile: its
    window is larger than a batch) */
static ssize_t stream_read (int fd, struct iovec const *v, unsigned int n)
{
  if (npending)
  {
    struct pollfd p = { .fd = fd, .events = POLLIN, .revents = 0 } ;
    if (poll(&p, 1, LINGER_MS) <= 0) sync_batch(0) ;
  }
  return fd_readv(fd, v, n) ;
}

static stralloc origin = STRALLOC_ZERO ;

 /* Whether the message is of the mailbox the batch record is for (the
    first message with an origin decides) */
static int recordable (mpopstream_msg const *m)
{
  int r = mpopstream_msg_value(m, "origin", &origin) ;
  if (r < 0) mpop_dienomem() ;
  return r && deliver_record_for(&d, origin.s) ;
}

 /* A message the record of a killed run shows stored already is not
    stored again, only acked */
static int message_begin (sink *k, mpopstream_msg const *m, int *rec, int *skip)
{
  *rec = recordable(m) ;
  *skip = *rec ? deliver_record_known(&d, m->uid) : 0 ;
  if (*skip < 0) return nomem() ;
  return *skip ? 0 : sink_start(k) ;
}

static int message_end (sink *k, char const *uid, int rec, int skip)
{
  int r = skip ? 0 : sink_end(k) ;
  if (!r && !skip && rec && !deliver_record_add(&d, uid)) r = nomem() ;
  if (!r && !stralloc_cats(&acks, uid)) r = nomem() ;
  if (!r && !stralloc_catb(&acks, "\n", 1)) r = nomem() ;
  if (!r) { npending++ ; nunrecorded += !rec ; }
  return r ;
}

static void stream_mode (sink *k)
{
  stralloc uid = STRALLOC_ZERO ;
  struct stat st ;
  int rec = 0, skip = 0 ;
  ackpipe = fstat(1, &st) == 0 && S_ISFIFO(st.st_mode) ;
  batch_sink = k ;
  mpopstream_reader_init(&reader) ;
  for (;;)
  {
    mpopstream_event ev ;
    int r = 0 ;
    if (batch_full()) sync_batch(0) ;
    switch (mpopstream_get(&reader, &in, &ev))
    {
      case MPOPSTREAM_MSG :
        if (!stralloc_copys(&uid, ev.msg->uid) || !stralloc_0(&uid)) r = nomem() ;
        else r = message_begin(k, ev.msg, &rec, &skip) ;
        break ;
      case MPOPSTREAM_DATA :
        if (!skip) r = sink_data(k, ev.s, ev.len) ;
        break ;
      case MPOPSTREAM_MSGEND :
        r = message_end(k, uid.s, rec, skip) ;
        break ;
      case MPOPSTREAM_END :
        sync_batch(1) ;
        stralloc_free(&acks) ;
        stralloc_free(&uid) ;
        return ;
      case MPOPSTREAM_IOERROR :
        stream_broken(k, &acks, EX_IOERR, "cannot read standard input", errno) ;
      default :
        if (quietcut && !strcmp(ev.err, MPOPSTREAM_ERR_CUT)) stream_cut(k, &acks) ;
        stream_broken(k, &acks, EX_DATAERR, ev.err, 0) ;
    }
    if (r) stream_fail(k, &acks, r) ;
  }
}


 /* Single-message mode: all of stdin is one message */

static void single_fail (sink *, int) gccattr_noreturn ;
static void single_fail (sink *k, int code)
{
  sink_abort(k) ;
  if (code == EX_OSERR && !err.len) mpop_dienomem() ;
  deliver_close(&d) ;
  mpop_die(code, err.s) ;
}

static void single_mode (sink *k)
{
  stralloc lf = STRALLOC_ZERO ;
  unsigned char cr = 0 ;
  int r = sink_start(k) ;
  if (r) single_fail(k, r) ;
  for (;;)
  {
    struct iovec v[2] ;
    buffer_rpeek(&in, v) ;
    if (!v[0].iov_len)
    {
      ssize_t n = buffer_fill(&in) ;
      if (n < 0)
      {
        int e = errno ;
        sink_abort(k) ;
        deliver_close(&d) ;
        errno = e ;
        mpop_diesys(EX_IOERR, "cannot read standard input") ;
      }
      if (!n) break ;
      continue ;
    }
    lf.len = 0 ;
    if (!deliver_tolf(&lf, v[0].iov_base, v[0].iov_len, &cr)) single_fail(k, nomem()) ;
    buffer_rseek(&in, v[0].iov_len) ;
    r = sink_data(k, lf.s, lf.len) ;
    if (r) single_fail(k, r) ;
  }
  lf.len = 0 ;
  if (!deliver_tolf(&lf, 0, 0, &cr)) single_fail(k, nomem()) ;
  r = lf.len ? sink_data(k, lf.s, lf.len) : 0 ;
  if (!r) r = sink_end(k) ;
  if (!r) r = deliver_sync(&d, &err) ;
  if (r) single_fail(k, r) ;
  stralloc_free(&lf) ;
}

 /* 1 if stdin starts with the mpop-stream banner */
static int is_stream (void)
{
  for (;;)
  {
    char head[32] ;
    struct iovec v[2] ;
    size_t n, n0 ;
    ssize_t got ;
    int r ;
    buffer_rpeek(&in, v) ;
    n0 = v[0].iov_len < sizeof(head) ? v[0].iov_len : sizeof(head) ;
    if (n0) memcpy(head, v[0].iov_base, n0) ;
    n = n0 + (v[1].iov_len < sizeof(head) - n0 ? v[1].iov_len : sizeof(head) - n0) ;
    if (n > n0) memcpy(head + n0, v[1].iov_base, n - n0) ;
    r = mpopstream_detect(head, n) ;
    if (r >= 0) return r ;
    got = buffer_fill(&in) ;
    if (got < 0) mpop_diesys(EX_IOERR, "cannot read standard input") ;
    if (!got) return 0 ;
  }
}

 /* The timeout setting bounds each wait for an MDA that does not read
    (off: no bound) */
static unsigned int mda_timeout (void)
{
  char const *x = getenv("MPOP_TIMEOUT") ;
  unsigned long long n ;
  if (!x || !*x) return 0 ;
  if (!settings_number(x, &n)) mpop_die(EX_CONFIG, "invalid MPOP_TIMEOUT: ", x) ;
  return !n || n > UINT_MAX ? UINT_MAX : (unsigned int)n ;
}

static void open_delivery (int argc, char const *const *argv)
{
  int r ;
  if (!argc)
  {
    char const *spec = getenv("MPOP_DELIVERY") ;
    if (!spec || !*spec) mpop_die(EX_USAGE, "no delivery method given and MPOP_DELIVERY is not set") ;
    r = deliver_open(&d, spec, &err) ;
  }
  else
  {
    int m = deliver_method(argv[0]) ;
    if (argc != 2) mpop_dieusage(USAGE) ;
    if (m < 0) mpop_die(EX_USAGE, "unknown delivery method ", argv[0]) ;
    if (!*argv[1]) mpop_die(EX_USAGE, "empty argument for delivery method ", argv[0]) ;
    r = deliver_open_method(&d, m, argv[1], &err) ;
  }
  if (r) die_err(r) ;
  d.timeout = mda_timeout() ;
}

int main (int argc, char const *const *argv)
{
  stralloc given = STRALLOC_ZERO ;
  sink k = SINK_ZERO ;
  int single = 0 ;
  PROG = mpop_progname("mdeliver") ;
  {
    subgetopt l = SUBGETOPT_ZERO ;
    for (;;)
    {
      int opt = subgetopt_r(argc, argv, "1qf:", &l) ;
      if (opt == -1) break ;
      switch (opt)
      {
        case '1' : single = 1 ; break ;
        case 'q' : quietcut = 1 ; break ;
        case 'f' :
          given.len = 0 ;
          if (!envfrom_given(&given, l.arg)) mpop_dienomem() ;
          k.given = given.s ;
          break ;
        default : mpop_dieusage(USAGE) ;
      }
    }
    argc -= l.ind ; argv += l.ind ;
  }
  catch_signals() ;
  open_delivery(argc, argv) ;
  if (!single && is_stream()) stream_mode(&k) ;
  else single_mode(&k) ;
  deliver_close(&d) ;
  envfrom_free(&k.f) ;
  stralloc_free(&k.look) ;
  stralloc_free(&given) ;
  stralloc_free(&err) ;
  return 0 ;
}
