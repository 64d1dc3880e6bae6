/* ISC license. */

#ifndef MPOP_FUZZ_HARNESS_H
#define MPOP_FUZZ_HARNESS_H

 /* Shared pieces of the libFuzzer targets in tests/fuzz/ (built and run by
    tests/fuzz/run, linked with -Wl,--wrap=conn_read,--wrap=conn_put). */

#include <stddef.h>
#include <stdint.h>

#include <skalibs/stralloc.h>

#include <mpop/account.h>
#include <mpop/pop3.h>

 /* Aborts with a message on stderr: a property does not hold */
#define FUZZ_ASSERT(cond, what) do { if (!(cond)) fuzz_fail(__FILE__, __LINE__, what) ; } while (0)
extern void fuzz_fail (char const *file, int line, char const *what) __attribute__((noreturn)) ;

 /* Deterministic choices drawn from the input: a splitmix64 generator
    seeded with input bytes */
typedef struct fuzz_rng_s fuzz_rng ;
struct fuzz_rng_s
{
  uint64_t state ;
  unsigned int mode ;
} ;
extern void fuzz_rng_init (fuzz_rng *, uint8_t const *seed, size_t len) ;
extern uint64_t fuzz_rand (fuzz_rng *) ;

 /* Size of the next piece of a split input, 1..max: whole, byte by byte,
    small or large pieces, depending on the mode the seed chose */
extern size_t fuzz_chunk (fuzz_rng *, size_t max) ;

 /* getrandom is replaced by a fixed sequence (0, 1, 2, ...) that
    fuzz_random_reset starts again: libgsasl's nonces, and so whole SCRAM
    exchanges, are the same for the same input. */
extern void fuzz_random_reset (void) ;

 /* The scripted server: __wrap_conn_read hands out s in pieces chosen by
    rng, then end of file; __wrap_conn_put collects what the client sends
    into fuzz_sent (conn_flush then has nothing to write). */
extern stralloc fuzz_sent ;
extern void fuzz_server (char const *s, size_t len, fuzz_rng const *rng) ;
extern size_t fuzz_server_left (void) ;

 /* A session on the scripted server, without connecting; _ucspi also
    puts /dev/null on fds 6 and 7 so that pop3_open with POP3_UCSPI works.
    fuzz_pop3_end frees it without closing any real descriptor. */
extern void fuzz_pop3_begin (pop3 *, account const *) ;
extern void fuzz_ucspi (void) ;
extern void fuzz_pop3_end (pop3 *) ;

 /* Each line the client sent ends with CRLF and has no other CR or LF,
    and is not longer than a POP3 command may be */
extern void fuzz_check_sent (void) ;

 /* Whether s occurs in sa */
extern int fuzz_contains (stralloc const *sa, char const *s) ;

 /* A private scratch directory (under $FUZZ_TMPDIR, /dev/shm or /tmp),
    removed at exit with what fuzz_tmpfile named in it */
extern char const *fuzz_tmpfile (char const *name) ;

 /* Writes s to path (created or truncated) */
extern void fuzz_writefile (char const *path, char const *s, size_t len) ;

#endif
