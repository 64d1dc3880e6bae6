/* ISC license. */

 /* libFuzzer target for the DNS SRV answer parser (tests/fuzz/run builds
    and runs it). Properties: no crash and no read outside the input; a
    chosen record has a printable target (no blank, no control character,
    so it cannot add a line to the printed configuration) that is not the
    root. */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mpop/srv.h>

#include "harness.h"

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  srvrecord r ;
  int ret = srv_best(data, size, &r) ;
  FUZZ_ASSERT(ret >= -1 && ret <= 1, "srv_best returned an unexpected value") ;
  if (ret == 1)
  {
    size_t len = strnlen(r.target, SRV_TARGET_MAX) ;
    FUZZ_ASSERT(len && len < SRV_TARGET_MAX, "target empty or not terminated") ;
    FUZZ_ASSERT(len != 1 || r.target[0] != '.', "the root chosen as target") ;
    for (size_t i = 0 ; i < len ; i++)
      FUZZ_ASSERT((unsigned char)r.target[i] > 0x20 && (unsigned char)r.target[i] < 0x7f, "target with a blank or a control character") ;
  }
  return 0 ;
}
