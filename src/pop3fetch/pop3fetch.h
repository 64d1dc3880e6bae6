/* ISC license. */

#ifndef POP3FETCH_H
#define POP3FETCH_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <skalibs/buffer.h>
#include <skalibs/gccattributes.h>
#include <skalibs/stralloc.h>

#include <mpop/account.h>
#include <mpop/pop3.h>
#include <mpop/uidls.h>

 /* Options */
#define OPT_QUIET 0x01        /* -q: no status, no progress */
#define OPT_HALFQUIET 0x02    /* -Q: status, no progress */
#define OPT_DEBUG 0x04        /* -d: protocol trace */
#define OPT_STATUS 0x08       /* -s: status only */
#define OPT_AUTHONLY 0x10     /* -A: authenticate only */
#define OPT_ADOPT 0x20        /* -m: mark every message as retrieved */
#define OPT_FULLUIDL 0x40     /* -F: never the quick check, always the UIDL listing */

 /* What we know and decide about one message on the server */
#define M_OLD 0x01            /* its UID is in the UIDLs file */
#define M_RETR 0x02           /* to retrieve */
#define M_KILLED 0x04         /* killsize: remembered, deleted without retrieval */
#define M_BEGUN 0x40          /* its header is in the stream, at spos */
#define M_STREAMED 0x08       /* completely written into the stream */
#define M_ACKED 0x10          /* the deliverer acknowledged it: durably stored */
#define M_DELE 0x20           /* DELE sent and answered +OK */
#define M_ADOPTED 0x80        /* -m: recorded as retrieved without retrieval */

#define NOUID ((size_t)-1)

typedef struct msg_s msg, *msg_ref ;
struct msg_s
{
  uint64_t size ;             /* from LIST, 0 if unknown */
  size_t uid ;                /* offset in the session's uids, or NOUID */
  int64_t ts ;                /* first-seen time (M_OLD) */
  uint64_t spos ;             /* offset of its header in the stream (M_BEGUN) */
  unsigned int flags ;
} ;

typedef struct session_s session, *session_ref ;
struct session_s
{
  account a ;
  pop3 p ;
  uidls u ;
  int uidls_locked ;          /* u is open and locked */
  int connected ;             /* p needs pop3_drop on errors */
  int late ;                  /* retrieval has begun: an error still records */
  unsigned int opts ;
  char const *const *deliverer ;  /* argv, or 0 in pipe mode */
  int64_t start ;             /* session start, wall clock */
  char const *host ;          /* for messages, the UIDLs key, Received */
  char const *user ;
  unsigned long long keep ;   /* seconds, ULLONG_MAX for on */
  int only_new ;
  uint64_t killsize ;         /* 0 = off... see haskill */
  uint64_t skipsize ;
  int haskill ;
  int hasskip ;
  int nouidl ;                /* the server does not support UIDL */
  unsigned int n ;            /* STAT count */
  uint64_t total ;            /* STAT size */
  msg *m ;
  stralloc uids ;             /* NUL-terminated UIDs */
  buffer *out ;               /* human output: stdout, or stderr in pipe mode */
  int tty ;                   /* out is a terminal: animated progress */
  int progress ;              /* per-message progress lines */
  stralloc received ;         /* "Received: from ... for <user>; " */
} ;

#define session_uid(sess, i) ((sess)->m[i].uid == NOUID ? 0 : (sess)->uids.s + (sess)->m[i].uid)

 /* pop3fetch.c: error exits of the session. late: the deliverer may have
    stored messages, so the journal is synced first. */
extern void session_die (session *, int code, char const *msg, char const *srvmsg) gccattr_noreturn ;
extern void session_die_pop3 (session *) gccattr_noreturn ;
extern volatile sig_atomic_t aborted ;
extern int abort_fd ;          /* readable once a signal asked us to stop */

 /* list.c: STAT, LIST, UIDL and the decisions */
extern void session_stat (session *, void (*meanwhile) (session *)) ;
extern int session_quick (session *) ;
extern void session_list (session *) ;
extern void session_uidl (session *) ;
extern void session_decide (session *) ;
extern void session_policy (session *) ;
extern int session_keeps (session const *, unsigned int i) ;
extern int session_recordable (session const *, unsigned int i) ;

 /* retrieve.c: RETR, the stream, the deliverer, the acks */
extern void session_retrieve (session *) ;

 /* output.c */
extern size_t fmt_size (char *, uint64_t) ;
#define FMT_SIZE 32
extern void out_status (session const *) ;
extern void out_policy (session const *, unsigned int i, char const *verb, char const *reason) ;
extern void out_progress_start (session const *, unsigned int i) ;
extern void out_progress (session const *, unsigned int *pct, uint64_t got, uint64_t size) ;
extern void out_progress_end (session const *, int ok) ;
extern void out_flush (session const *) ;
extern void out_adopted (session const *, unsigned int marked, unsigned int nouid) ;
extern void received_init (session *) ;
extern int received_put (session const *, stralloc *) ;

#endif
