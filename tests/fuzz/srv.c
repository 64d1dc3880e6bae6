/* ISC license. */

 /* libFuzzer target for the DNS SRV answer parser. Build e.g.:
    clang -g -fsanitize=fuzzer,address,undefined -D_DEFAULT_SOURCE -Isrc/include \
      tests/fuzz/srv.c src/libmpop/srv.c -o srv-fuzz
    Properties: no crash and no read outside the input; a chosen record
    has a printable target (no blank, no control character, so it cannot
    add a line to the printed configuration) that is not the root. */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mpop/srv.h>

int LLVMFuzzerTestOneInput (uint8_t const *data, size_t size)
{
  srvrecord r ;
  int ret = srv_best(data, size, &r) ;
  if (ret < -1 || ret > 1) abort() ;
  if (ret == 1)
  {
    size_t len = strnlen(r.target, SRV_TARGET_MAX) ;
    if (!len || len >= SRV_TARGET_MAX) abort() ;
    if (len == 1 && r.target[0] == '.') abort() ;
    for (size_t i = 0 ; i < len ; i++)
      if ((unsigned char)r.target[i] <= 0x20 || (unsigned char)r.target[i] >= 0x7f) abort() ;
  }
  return 0 ;
}
