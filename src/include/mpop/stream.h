/* ISC license. */

#ifndef MPOP_STREAM_H
#define MPOP_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include <skalibs/buffer.h>
#include <skalibs/stralloc.h>

 /* mpop-stream (doc/mpop-stream.5): the pipe protocol from a fetcher to a
    deliverer. A sequence of netstrings:
      stream  = banner message* trailer
      banner  = netstring("mpop-stream 1")
      message = netstring("msg\n" "key=value\n"...) data* netstring("")
      data    = netstring(1 .. MPOPSTREAM_CHUNK bytes)
    (an empty message has no data netstring)
      trailer = netstring("end")
    The header carries uid=, size=, num= (mandatory, once each) and
    optional other keys. */

#define MPOPSTREAM_BANNER "mpop-stream 1"
#define MPOPSTREAM_CHUNK 1048576
#define MPOPSTREAM_HEADERMAX 4096

 /* Writers: append the encoded bytes to sa (the caller does the I/O).
    They return 1 on success, 0 when out of memory (sa is then unchanged). */

extern int mpopstream_put_banner (stralloc *sa) ;

 /* extra: nextra "key=value" strings (no newline in them), may be 0.
    Returns 0 with errno EINVAL if uid is empty or contains a control
    character, or if the header would exceed MPOPSTREAM_HEADERMAX. */
extern int mpopstream_put_header (stralloc *sa, char const *uid, uint64_t size, unsigned int num, char const *const *extra, unsigned int nextra) ;

 /* Message bytes, split into netstrings of at most MPOPSTREAM_CHUNK bytes;
    len 0 appends nothing. */
extern int mpopstream_put_data (stralloc *sa, char const *s, size_t len) ;

extern int mpopstream_put_end (stralloc *sa) ;      /* end of message: "0:," */
extern int mpopstream_put_trailer (stralloc *sa) ;  /* end of stream: "3:end," */


 /* Reader: a bounded incremental parser. It never buffers message data:
    data events point into the caller's input. */

typedef struct mpopstream_msg_s mpopstream_msg, *mpopstream_msg_ref ;
struct mpopstream_msg_s
{
  char const *uid ;       /* NUL-terminated, valid until the next message */
  uint64_t size ;         /* the server's size estimate */
  unsigned int num ;      /* the message number on the server */
  char const *extra ;     /* the other "key=value\n" lines, as received */
  size_t extralen ;
} ;

 /* Copies the value of the extra line "key=value" of m into sa, NUL-
    terminated: 1 found, 0 absent, -1 out of memory */
extern int mpopstream_msg_value (mpopstream_msg const *m, char const *key, stralloc *sa) ;

enum mpopstream_event_e
{
  MPOPSTREAM_NEED,        /* all input consumed, feed more */
  MPOPSTREAM_MSG,         /* a message starts: ev.msg */
  MPOPSTREAM_DATA,        /* message bytes: ev.s, ev.len */
  MPOPSTREAM_MSGEND,      /* the message is complete */
  MPOPSTREAM_END,         /* the trailer: the stream is complete */
  MPOPSTREAM_ERROR,       /* malformed stream, or EOF before the trailer: ev.err */
  MPOPSTREAM_IOERROR      /* mpopstream_get only: read error, errno set */
} ;

typedef struct mpopstream_event_s mpopstream_event, *mpopstream_event_ref ;
struct mpopstream_event_s
{
  int type ;
  char const *s ;
  size_t len ;
  mpopstream_msg const *msg ;
  char const *err ;       /* static text */
} ;

typedef struct mpopstream_reader_s mpopstream_reader, *mpopstream_reader_ref ;
struct mpopstream_reader_s
{
  unsigned char phase ;
  unsigned char sub ;
  unsigned char ndigits ;
  unsigned char empty ;   /* the current netstring is empty */
  size_t len ;            /* netstring length, then bytes left of it */
  size_t hlen ;
  mpopstream_msg msg ;
  char const *err ;
  char hdr[MPOPSTREAM_HEADERMAX + 1] ;
  char fields[MPOPSTREAM_HEADERMAX + 1] ;
} ;

extern void mpopstream_reader_init (mpopstream_reader *) ;

 /* Parses s[0..len) up to the next event; *used is set to the number of
    bytes consumed. Call again with the rest until MPOPSTREAM_NEED. After
    MPOPSTREAM_ERROR the reader stays in error. */
extern int mpopstream_feed (mpopstream_reader *, char const *s, size_t len, size_t *used, mpopstream_event *ev) ;

 /* Tells the reader the input has ended: MPOPSTREAM_END if the trailer was
    seen, else MPOPSTREAM_ERROR ("unexpected end of stream", or "... in the
    middle of a message"). */
extern int mpopstream_eof (mpopstream_reader *, mpopstream_event *ev) ;
#define MPOPSTREAM_ERR_CUT "unexpected end of stream in the middle of a message"

 /* Reads from b (blocking, via buffer_fill) until the next event. Data
    events point into b's storage and stay valid until the next call. */
extern int mpopstream_get (mpopstream_reader *, buffer *b, mpopstream_event *ev) ;

 /* 1 if the input starts with the banner netstring, 0 if it cannot be a
    stream, -1 if s is a proper prefix of the banner (read more). */
extern int mpopstream_detect (char const *s, size_t len) ;

#endif
