/* ISC license. */

#ifndef MPOP_SRV_H
#define MPOP_SRV_H

#include <stddef.h>
#include <stdint.h>

 /* DNS SRV records (RFC 2782), as mpop --configure uses them. */

 /* A name in presentation form: at most 255 bytes on the wire, each byte
    at most 4 characters (\DDD), plus the NUL */
#define SRV_TARGET_MAX 1024

typedef struct srvrecord_s srvrecord, *srvrecord_ref ;
struct srvrecord_s
{
  uint16_t priority ;
  uint16_t weight ;
  uint16_t port ;
  char target[SRV_TARGET_MAX] ;  /* no trailing dot; "." is the root */
} ;

 /* From a whole DNS response, the best usable SRV record of class IN in
    the answer section: lowest priority, then highest weight, then the
    first one; records whose target is the root (".") are not usable.
    Returns 1 and fills *best, 0 when there is no usable record, -1 when
    the response is malformed (nothing of it is used then). Reads only
    msg[0..len). */
extern int srv_best (unsigned char const *msg, size_t len, srvrecord *best) ;

 /* Queries the name (as it is, no search list) for SRV records with the
    system resolver. Returns 1 with *best filled, 0 when there is no
    usable record or the lookup failed. */
extern int srv_lookup (char const *name, srvrecord *best) ;

#endif
