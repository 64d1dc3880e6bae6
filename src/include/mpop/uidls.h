/* ISC license. */

#ifndef MPOP_UIDLS_H
#define MPOP_UIDLS_H

#include <stddef.h>
#include <stdint.h>

#include <skalibs/genalloc.h>
#include <skalibs/stralloc.h>

 /* The UIDLs file, shared with mpop 1.4.23 (see mpop-uidls(5)):
    comment lines, then lists " N host user" of N lines "UID SP unix-seconds"
    (first-seen time), sorted bytewise. Between rewrites, recorded UIDs go to
    an append-only journal FILE.journal, merged by every reader.

    Functions that can fail return 0 on success, or a sysexits code with the
    message (without the program name) in err: EX_DATAERR (65) for format
    errors ("FILE, line N: ..."), EX_IOERR (74) for open, read, write and
    lock errors, EX_CONFIG (78) for a host or user that cannot be stored,
    EX_OSERR (71) with an empty err when out of memory. */

#define UIDLS_LINE_MAX 8190        /* longest line mpop 1.4.23 can read */
#define UIDLS_LOCK_TIMEOUT 10      /* seconds, retried every 0.1 s */

 /* A set of UIDs, each with its first-seen time. Lookups sort the set
    first if needed; sorting merges duplicates, keeping the earliest time. */

typedef struct uidls_entry_s uidls_entry, *uidls_entry_ref ;
struct uidls_entry_s
{
  size_t uid ;     /* offset of the NUL-terminated UID in the set's text */
  int64_t ts ;
} ;

typedef struct uidls_set_s uidls_set, *uidls_set_ref ;
struct uidls_set_s
{
  stralloc text ;
  genalloc entries ;   /* uidls_entry */
  int sorted ;
} ;
#define UIDLS_SET_ZERO { .text = STRALLOC_ZERO, .entries = GENALLOC_ZERO, .sorted = 1 }

extern int uidls_set_add (uidls_set *, char const *uid, size_t len, int64_t ts) ;  /* 0 = no memory */
extern void uidls_set_sort (uidls_set *) ;
extern int uidls_set_find (uidls_set *, char const *uid, int64_t *ts) ;  /* 1 found, 0 not */
extern void uidls_set_free (uidls_set *) ;
#define uidls_set_len(set) genalloc_len(uidls_entry, &(set)->entries)
#define uidls_set_uid(set, i) ((set)->text.s + genalloc_s(uidls_entry, &(set)->entries)[i].uid)
#define uidls_set_ts(set, i) (genalloc_s(uidls_entry, &(set)->entries)[i].ts)

 /* 1 if uid (len bytes) can be recorded: not empty, no control character,
    not starting with a space, short enough for mpop to read it back. */
extern int uidls_uid_valid (char const *uid, size_t len) ;

 /* All the lists of one file, in file order */

typedef struct uidls_list_s uidls_list, *uidls_list_ref ;
struct uidls_list_s
{
  char *host ;
  char *user ;
  uidls_set set ;
} ;

 /* Parses a whole file held in memory (bounded: lines longer than
    UIDLS_LINE_MAX are an error). Lines without a timestamp get now. file
    is only used in messages. Appends uidls_list to lists. */
extern int uidls_parse (genalloc *lists, char const *file, char const *s, size_t len, int64_t now, stralloc *err) ;
extern void uidls_lists_free (genalloc *lists) ;
 /* Appends the whole file as written: a comment header, then each
    non-empty list sorted; entries mpop could not read back (empty, starting
    with a space, too long) are left out. 0 = no memory. */
extern int uidls_format (stralloc *sa, genalloc *lists) ;
extern uidls_list *uidls_lists_add (genalloc *lists, char const *host, size_t hlen, char const *user, size_t ulen) ;

 /* The file of one account, locked from uidls_open to uidls_close */

#define UIDLS_MKDIR 0x01      /* create missing parent directories, mode 0700 */
#define UIDLS_READONLY 0x02   /* never write (status only, listing, checking) */
#define UIDLS_NOCREATE 0x04   /* a missing file is read as empty, not created */
#define UIDLS_APPEND 0x08     /* lock, then only append to the journal: the
                                 file is neither read nor rewritten */
#define UIDLS_NOWAIT 0x10     /* do not wait for the lock: EX_TEMPFAIL (75)
                                 at once if another process holds it */

typedef struct uidls_s uidls, *uidls_ref ;
struct uidls_s
{
  char *file ;
  char *journal ;      /* file ".journal" */
  genalloc lists ;     /* uidls_list, in file order */
  size_t self ;        /* this account's list, UIDLS_NOSELF without account */
  int selfnew ;        /* the file had no list for this account */
  int fd ;             /* the locked file, -1 if none */
  int jfd ;            /* the journal, -1 until the first sync */
  int jsync ;          /* the journal's directory entry is not yet synced */
  int jdirty ;         /* lines written to the journal but not yet synced */
  uint64_t jsize ;     /* bytes of the journal known to be whole lines */
  size_t jbad ;        /* first invalid journal line that is not the last */
  stralloc jbuf ;      /* journal lines added but not yet synced */
  int64_t now ;
  unsigned int flags ;
  int canonical ;      /* the file holds exactly what uidls_format writes */
} ;
#define UIDLS_NOSELF ((size_t)-1)
#define UIDLS_ZERO { .file = 0, .journal = 0, .lists = GENALLOC_ZERO, .self = 0, .selfnew = 0, .fd = -1, .jfd = -1, .jsync = 0, .jdirty = 0, .jsize = 0, .jbad = 0, .jbuf = STRALLOC_ZERO, .now = 0, .flags = 0, .canonical = 0 }

 /* Opens (creating it 0600 unless UIDLS_NOCREATE), locks (fcntl, retried
    for UIDLS_LOCK_TIMEOUT seconds; retried too when the path no longer names
    the locked file after a concurrent rewrite), reads all the lists and
    merges FILE.journal. Without UIDLS_READONLY, a journal left by an
    interrupted run is folded into the file at once. now is the session
    start time, given to entries that have no timestamp. host and user may
    both be 0 with UIDLS_READONLY or UIDLS_APPEND, to read or just lock the
    file without an account. */
extern int uidls_open (uidls *, char const *file, char const *host, char const *user, int64_t now, unsigned int flags, stralloc *err) ;

 /* This account's list (sorted on first lookup). */
#define uidls_self(u) (&genalloc_s(uidls_list, &(u)->lists)[(u)->self].set)
#define uidls_find(u, uid, ts) uidls_set_find(uidls_self(u), uid, ts)

 /* Records uid for this account in the journal, in three stages:
    uidls_journal_add buffers the line in memory (lost if the process
    dies); uidls_journal_flush writes the buffered lines to the journal
    without forcing them to disk: once it returned 0 they survive the death
    of the process (they are in the page cache) but not a power loss or a
    system crash; uidls_journal_sync writes what is still buffered and
    forces every line written so far to disk (file and directory entry):
    once it returned 0 they survive a power loss too. */
extern int uidls_journal_add (uidls *, char const *uid, int64_t ts, stralloc *err) ;
extern int uidls_journal_flush (uidls *, stralloc *err) ;
extern int uidls_journal_sync (uidls *, stralloc *err) ;

 /* Replaces this account's list by mine (moved into u, mine is left empty;
    0 keeps the list as it is in u), then rewrites the whole file: temp
    file, fsync, rename, fsync of the directory; then removes the journal.
    mine must hold every UID journaled in this session that is to stay:
    the journal is gone afterwards. The lock is kept until uidls_close.
    Without a commit (error paths), uidls_close leaves the flushed journal
    for the next uidls_open to fold in. */
extern int uidls_commit (uidls *, uidls_set *mine, stralloc *err) ;

 /* Releases the lock and frees everything. Lines still buffered (not
    flushed) are dropped; flushed lines stay in the journal, synced or not. */
extern void uidls_close (uidls *) ;

 /* The journal: uidls_journal_line appends one line to sa (0 = no memory);
    uidls_journal_parse adds the valid lines of a journal held in memory to
    lists (creating lists as needed; 0 or EX_OSERR) and sets *bad to the
    number of the first invalid line that is not the last one (0 if none:
    a torn last line is normal after a crash). */
extern int uidls_journal_line (stralloc *sa, char const *host, char const *user, char const *uid, int64_t ts) ;
extern int uidls_journal_parse (genalloc *lists, char const *s, size_t len, size_t *bad) ;

#endif
