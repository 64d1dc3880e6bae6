/* ISC license. */

 /*
   delayline [-d usec] [-t secs] [-q packets] netnsA ifA netnsB ifB

   A network link with a fixed one-way delay, between two network
   namespaces. Creates the TUN device ifA inside the namespace whose
   handle is netnsA (e.g. /run/netns/NAME) and ifB inside netnsB, prints
   "ready" on stdout, then copies every IP packet that the kernel of one
   side sends into its TUN device to the TUN device of the other side,
   usec microseconds (default 10000) after it was read, in order. Each
   direction queues at most -q packets (default 8192; more are dropped,
   as a full router queue would; a packet that the other device refuses,
   e.g. while it is still down, is counted apart). Bandwidth is not
   limited.

   The caller gives the devices their addresses and brings them up. The
   devices disappear when delayline exits: on SIGTERM, SIGINT, SIGHUP,
   when its parent dies, or after -t seconds (default 3600). It prints
   packet and drop counts on stderr when it ends.
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <net/if.h>
#include <linux/if_tun.h>

#include <skalibs/allreadwrite.h>
#include <skalibs/buffer.h>
#include <skalibs/djbunix.h>
#include <skalibs/sgetopt.h>
#include <skalibs/strerr.h>
#include <skalibs/types.h>
#include <skalibs/uint64.h>

#define USAGE "delayline [-d usec] [-t secs] [-q packets] netnsA ifA netnsB ifB"
#define dieusage() strerr_dieusage(EX_USAGE, USAGE)

#define PKTMAX 2048

typedef struct packet_s packet, *packet_ref ;
struct packet_s
{
  struct timespec due ;
  unsigned int len ;
  char data[PKTMAX] ;
} ;

typedef struct queue_s queue, *queue_ref ;
struct queue_s
{
  packet *ring ;
  unsigned int size ;
  unsigned int head ;   /* next to send */
  unsigned int n ;      /* packets queued */
  uint64_t passed ;
  uint64_t dropped ;    /* the queue was full */
  uint64_t failed ;     /* the other side refused it (e.g. still down) */
} ;

static volatile sig_atomic_t stop = 0 ;

static void on_signal (int sig)
{
  (void)sig ;
  stop = 1 ;
}

static void ts_add_usec (struct timespec *t, unsigned long usec)
{
  t->tv_sec += usec / 1000000 ;
  t->tv_nsec += (long)(usec % 1000000) * 1000 ;
  if (t->tv_nsec >= 1000000000) { t->tv_sec++ ; t->tv_nsec -= 1000000000 ; }
}

static int ts_le (struct timespec const *a, struct timespec const *b)
{
  return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec <= b->tv_nsec) ;
}

static void ts_now (struct timespec *t)
{
  if (clock_gettime(CLOCK_MONOTONIC, t) < 0) strerr_diefu1sys(EX_OSERR, "clock_gettime") ;
}

static int tun_open_in (char const *nspath, char const *ifname, int home)
{
  struct ifreq ifr ;
  int fd, nsfd = open_read(nspath) ;
  if (nsfd < 0) strerr_diefu2sys(EX_NOINPUT, "open ", nspath) ;
  if (setns(nsfd, CLONE_NEWNET) < 0) strerr_diefu2sys(EX_OSERR, "enter the network namespace ", nspath) ;
  fd_close(nsfd) ;
  fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC) ;
  if (fd < 0) strerr_diefu1sys(EX_OSERR, "open /dev/net/tun") ;
  memset(&ifr, 0, sizeof(ifr)) ;
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI ;
  if (strlen(ifname) >= IFNAMSIZ) strerr_dief2x(EX_USAGE, "interface name too long: ", ifname) ;
  strcpy(ifr.ifr_name, ifname) ;
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) strerr_diefu2sys(EX_OSERR, "create the TUN device ", ifname) ;
  if (setns(home, CLONE_NEWNET) < 0) strerr_diefu1sys(EX_OSERR, "return to the original network namespace") ;
  return fd ;
}

static void queue_init (queue *q, unsigned int size)
{
  q->ring = calloc(size, sizeof(packet)) ;
  if (!q->ring) strerr_diefu1sys(EX_OSERR, "allocate the packet queue") ;
  q->size = size ;
  q->head = q->n = 0 ;
  q->passed = q->dropped = q->failed = 0 ;
}

 /* read every packet waiting on fd into q, due at now + delay */
static void take (int fd, queue *q, unsigned long delay)
{
  for (;;)
  {
    struct timespec now ;
    packet *p ;
    ssize_t r ;
    if (q->n == q->size)
    {
      char junk[PKTMAX] ;
      r = read(fd, junk, sizeof(junk)) ;
      if (r <= 0) break ;
      q->dropped++ ;
      continue ;
    }
    p = q->ring + (q->head + q->n) % q->size ;
    r = read(fd, p->data, sizeof(p->data)) ;
    if (r < 0)
    {
      if (errno == EINTR) continue ;
      if (errno == EAGAIN) break ;
      strerr_diefu1sys(EX_IOERR, "read from a TUN device") ;
    }
    if (!r) break ;
    ts_now(&now) ;
    p->due = now ;
    ts_add_usec(&p->due, delay) ;
    p->len = r ;
    q->n++ ;
  }
}

 /* write the packets of q that are due to fd */
static void give (int fd, queue *q)
{
  struct timespec now ;
  ts_now(&now) ;
  while (q->n && ts_le(&q->ring[q->head].due, &now))
  {
    packet *p = q->ring + q->head ;
    if (write(fd, p->data, p->len) < 0)
    {
      if (errno == EINTR) continue ;
      if (errno == EAGAIN) break ;
      q->failed++ ;
    }
    else q->passed++ ;
    q->head = (q->head + 1) % q->size ;
    q->n-- ;
  }
}

static void next_due (queue const *q, struct timespec *best, int *have)
{
  if (!q->n) return ;
  if (!*have || ts_le(&q->ring[q->head].due, best)) *best = q->ring[q->head].due ;
  *have = 1 ;
}

static void report (char const *name, queue const *q)
{
  char a[UINT64_FMT] ;
  char b[UINT64_FMT] ;
  char c[UINT64_FMT] ;
  a[uint64_fmt(a, q->passed)] = 0 ;
  b[uint64_fmt(b, q->dropped)] = 0 ;
  c[uint64_fmt(c, q->failed)] = 0 ;
  strerr_warni(name, ": ", a, " packets passed, ", b, " dropped (queue full), ", c, " refused") ;
}

int main (int argc, char const *const *argv)
{
  unsigned long delay = 10000 ;
  unsigned int life = 3600, qsize = 8192 ;
  subgetopt l = SUBGETOPT_ZERO ;
  struct timespec end ;
  queue ab, ba ;
  int home, fa, fb ;
  PROG = "delayline" ;
  for (;;)
  {
    int opt = subgetopt_r(argc, argv, "d:t:q:", &l) ;
    if (opt == -1) break ;
    switch (opt)
    {
      case 'd' : if (!ulong0_scan(l.arg, &delay)) dieusage() ; break ;
      case 't' : if (!uint0_scan(l.arg, &life)) dieusage() ; break ;
      case 'q' : if (!uint0_scan(l.arg, &qsize) || !qsize) dieusage() ; break ;
      default : dieusage() ;
    }
  }
  argc -= l.ind ; argv += l.ind ;
  if (argc != 4) dieusage() ;
  if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0) strerr_diefu1sys(EX_OSERR, "set the parent death signal") ;
  home = open_read("/proc/self/ns/net") ;
  if (home < 0) strerr_diefu1sys(EX_OSERR, "open /proc/self/ns/net") ;
  fa = tun_open_in(argv[0], argv[1], home) ;
  fb = tun_open_in(argv[2], argv[3], home) ;
  queue_init(&ab, qsize) ;
  queue_init(&ba, qsize) ;
  {
    struct sigaction sa ;
    memset(&sa, 0, sizeof(sa)) ;
    sa.sa_handler = &on_signal ;
    sigaction(SIGTERM, &sa, 0) ;
    sigaction(SIGINT, &sa, 0) ;
    sigaction(SIGHUP, &sa, 0) ;
  }
  ts_now(&end) ;
  end.tv_sec += life ;
  if (!buffer_putsflush(buffer_1, "ready\n")) strerr_diefu1sys(EX_IOERR, "write to stdout") ;
  while (!stop)
  {
    struct pollfd x[2] = { { .fd = fa, .events = POLLIN }, { .fd = fb, .events = POLLIN } } ;
    struct timespec now, due, wait ;
    int have = 0 ;
    ts_now(&now) ;
    if (ts_le(&end, &now)) break ;
    due = end ; have = 1 ;
    next_due(&ab, &due, &have) ;
    next_due(&ba, &due, &have) ;
    if (ts_le(&due, &now)) wait.tv_sec = wait.tv_nsec = 0 ;
    else
    {
      wait.tv_sec = due.tv_sec - now.tv_sec ;
      wait.tv_nsec = due.tv_nsec - now.tv_nsec ;
      if (wait.tv_nsec < 0) { wait.tv_sec-- ; wait.tv_nsec += 1000000000 ; }
    }
    if (ppoll(x, 2, &wait, 0) < 0)
    {
      if (errno == EINTR) continue ;
      strerr_diefu1sys(EX_OSERR, "ppoll") ;
    }
    if (x[0].revents & (POLLERR | POLLHUP | POLLNVAL) || x[1].revents & (POLLERR | POLLHUP | POLLNVAL))
      strerr_dief1x(EX_IOERR, "a TUN device went away") ;
    if (x[0].revents & POLLIN) take(fa, &ab, delay) ;
    if (x[1].revents & POLLIN) take(fb, &ba, delay) ;
    give(fb, &ab) ;
    give(fa, &ba) ;
  }
  report("A to B", &ab) ;
  report("B to A", &ba) ;
  return 0 ;
}
