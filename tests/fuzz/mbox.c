/* ISC license. */

 /* libFuzzer target for the mbox deliverer (mboxrd writer) on a scratch
    file. The input is one byte of choices (how the messages are cut into
    deliver_write calls), one byte saying which messages are aborted
    instead of committed, then up to 8 messages in LF form, separated by
    NUL bytes. Each message gets its sender from envfrom_get, as mdeliver
    does. Properties:
    - an aborted message leaves the file exactly as it was;
    - the file, read back by a plain mboxrd reader (a message starts at
      every line beginning with "From "; one '>' is removed from lines
      matching >+From ), gives back the committed messages in order, each
      with a final newline added when it had none, each followed by one
      empty line;
    - each From line is "From SENDER Www Mmm dd hh:mm:ss yyyy" with the
      message's sanitised sender;
    - deliver_tolf (CRLF to LF for single-message mode) gives the same
      bytes whatever the pieces: every CRLF becomes LF, nothing else
      changes. */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <skalibs/djbunix.h>
#include <skalibs/stralloc.h>

#include <mpop/deliver.h>
#include <mpop/envfrom.h>

#include "harness.h"

#define MAXMSG 8

static deliver d = DELIVER_ZERO ;

static off_t size_of (int fd)
{
  struct stat st ;
  if (fstat(fd, &st) < 0) abort() ;
  return st.st_size ;
}

static void deliver_one (char const *s, size_t len, int abort_it, fuzz_rng *rng, stralloc *sender)
{
  stralloc err = STRALLOC_ZERO ;
  off_t before = size_of(d.fd) ;
  size_t pos = 0 ;
  sender->len = 0 ;
  if (!envfrom_get(sender, s, len)) abort() ;
  FUZZ_ASSERT(!deliver_begin(&d, sender->s, &err), "deliver_begin failed") ;
  while (pos < len)
  {
    size_t n = fuzz_chunk(rng, len - pos) ;
    FUZZ_ASSERT(!deliver_write(&d, s + pos, n, &err), "deliver_write failed") ;
    pos += n ;
  }
  if (abort_it)
  {
    deliver_abort(&d) ;
    FUZZ_ASSERT(size_of(d.fd) == before, "an aborted message left something in the mbox") ;
  }
  else
  {
    FUZZ_ASSERT(!deliver_commit(&d, &err), "deliver_commit failed") ;
    FUZZ_ASSERT(!deliver_sync(&d, &err), "deliver_sync failed") ;
  }
  stralloc_free(&err) ;
}

static int is_date (char const *s, size_t len)
{
  static char const shape[] = "Aaa Aaa 99 99:99:99 9999" ;
  if (len != sizeof(shape) - 1) return 0 ;
  for (size_t i = 0 ; i < len ; i++)
  {
    char c = s[i] ;
    switch (shape[i])
    {
      case 'A' : if (!(c >= 'A' && c <= 'Z')) return 0 ; break ;
      case 'a' : if (!(c >= 'a' && c <= 'z')) return 0 ; break ;
      case '9' : if (!(c >= '0' && c <= '9') && !(i == 8 && c == ' ')) return 0 ; break ;
      default : if (c != shape[i]) return 0 ;
    }
  }
  return 1 ;
}

 /* The reader: the message starting at *pos, whose From line was just
    checked, unquoted into out; *pos is left at the next From line */
static void read_message (char const *s, size_t len, size_t *pos, stralloc *out)
{
  size_t start = out->len ;
  while (*pos < len && !(len - *pos >= 5 && !memcmp(s + *pos, "From ", 5)))
  {
    char const *nl = memchr(s + *pos, '\n', len - *pos) ;
    size_t n = nl ? (size_t)(nl - s) - *pos + 1 : len - *pos ;
    char const *line = s + *pos ;
    size_t gt = 0 ;
    while (gt < n && line[gt] == '>') gt++ ;
    if (gt && n - gt >= 5 && !memcmp(line + gt, "From ", 5)) { line++ ; n-- ; }
    if (!stralloc_catb(out, line, n)) abort() ;
    *pos += nl ? (size_t)(nl - s) - *pos + 1 : len - *pos ;
  }
  FUZZ_ASSERT(out->len > start && out->s[out->len - 1] == '\n', "mbox message does not end with a newline") ;
  FUZZ_ASSERT(out->len - start == 1 || out->s[out->len - 2] == '\n', "mbox message not followed by an empty line") ;
  out->len-- ;
}

static void check_file (char const *path, char const *const *msgs, size_t const *lens, char const *const *senders, unsigned int n)
{
  stralloc file = STRALLOC_ZERO ;
  stralloc got = STRALLOC_ZERO ;
  size_t pos = 0 ;
  if (!openslurpclose(&file, path)) abort() ;
  for (unsigned int i = 0 ; i < n ; i++)
  {
    char const *nl ;
    size_t slen = strlen(senders[i]) ;
    FUZZ_ASSERT(file.len - pos >= 5 && !memcmp(file.s + pos, "From ", 5), "mbox message does not start with a From line") ;
    nl = memchr(file.s + pos, '\n', file.len - pos) ;
    FUZZ_ASSERT(nl, "From line without a newline") ;
    pos += 5 ;
    FUZZ_ASSERT((size_t)(nl - file.s) - pos > slen && !memcmp(file.s + pos, senders[i], slen) && file.s[pos + slen] == ' ', "From line without the sender") ;
    pos += slen + 1 ;
    FUZZ_ASSERT(is_date(file.s + pos, nl - file.s - pos), "From line without an asctime date") ;
    pos = nl - file.s + 1 ;
    got.len = 0 ;
    read_message(file.s, file.len, &pos, &got) ;
    FUZZ_ASSERT(got.len == lens[i] + (lens[i] && msgs[i][lens[i] - 1] != '\n'), "mbox message read back with another length") ;
    FUZZ_ASSERT(!memcmp(got.s, msgs[i], lens[i]), "mbox message read back differently") ;
  }
  FUZZ_ASSERT(pos == file.len, "more in the mbox than the committed messages") ;
  stralloc_free(&file) ;
  stralloc_free(&got) ;
}

 /* The CRLF of the whole input turned into LF, in pieces and at once */
static void check_tolf (char const *s, size_t len, fuzz_rng *rng)
{
  stralloc got = STRALLOC_ZERO, want = STRALLOC_ZERO ;
  unsigned char cr = 0 ;
  size_t pos = 0 ;
  while (pos < len)
  {
    size_t n = fuzz_chunk(rng, len - pos) ;
    if (!deliver_tolf(&got, s + pos, n, &cr)) abort() ;
    pos += n ;
  }
  if (!deliver_tolf(&got, 0, 0, &cr)) abort() ;
  for (size_t i = 0 ; i < len ; i++)
    if (!(s[i] == '\r' && i + 1 < len && s[i + 1] == '\n') && !stralloc_catb(&want, s + i, 1)) abort() ;
  FUZZ_ASSERT(got.len == want.len && (!got.len || !memcmp(got.s, want.s, got.len)), "deliver_tolf differs from CRLF to LF") ;
  stralloc_free(&got) ;
  stralloc_free(&want) ;
}

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  char const *path = fuzz_tmpfile("mbox") ;
  char const *msgs[MAXMSG] ;
  size_t lens[MAXMSG] ;
  stralloc senders[MAXMSG] ;
  char const *kept[MAXMSG] ;
  char const *keptmsgs[MAXMSG] ;
  size_t keptlens[MAXMSG] ;
  unsigned int n = 0, nkept = 0 ;
  stralloc err = STRALLOC_ZERO ;
  fuzz_rng rng ;
  char const *s ;
  size_t len ;
  if (size < 2) return 0 ;
  fuzz_rng_init(&rng, data, 1) ;
  s = (char const *)data + 2 ;
  len = size - 2 ;
  for (;;)
  {
    char const *nul = memchr(s, 0, len) ;
    msgs[n] = s ;
    lens[n] = nul ? (size_t)(nul - s) : len ;
    senders[n] = (stralloc)STRALLOC_ZERO ;
    n++ ;
    if (!nul || n == MAXMSG) break ;
    len -= nul + 1 - s ;
    s = nul + 1 ;
  }
  fuzz_writefile(path, "", 0) ;
  FUZZ_ASSERT(!deliver_open_method(&d, DELIVER_MBOX, path, &err), "cannot open the mbox") ;
  for (unsigned int i = 0 ; i < n ; i++)
  {
    int abort_it = data[1] >> i & 1 ;
    deliver_one(msgs[i], lens[i], abort_it, &rng, senders + i) ;
    if (abort_it) continue ;
    kept[nkept] = senders[i].s ;
    keptmsgs[nkept] = msgs[i] ;
    keptlens[nkept++] = lens[i] ;
  }
  deliver_close(&d) ;
  check_file(path, keptmsgs, keptlens, kept, nkept) ;
  check_tolf((char const *)data + 2, size - 2, &rng) ;
  for (unsigned int i = 0 ; i < n ; i++) stralloc_free(senders + i) ;
  stralloc_free(&err) ;
  return 0 ;
}
