/* ISC license. */

#include <dlfcn.h>
#include <string.h>

#include <skalibs/stralloc.h>

#include <mpop/config.h>
#include "sasllib-internal.h"

static struct { char const *name ; size_t offset ; } const syms[] =
{
  { "gsasl_init", offsetof(sasllib, init) },
  { "gsasl_done", offsetof(sasllib, done) },
  { "gsasl_check_version", offsetof(sasllib, check_version) },
  { "gsasl_client_support_p", offsetof(sasllib, client_support_p) },
  { "gsasl_client_start", offsetof(sasllib, client_start) },
  { "gsasl_property_set", offsetof(sasllib, property_set) },
  { "gsasl_property_fast", offsetof(sasllib, property_fast) },
  { "gsasl_step", offsetof(sasllib, step) },
  { "gsasl_finish", offsetof(sasllib, finish) },
  { "gsasl_free", offsetof(sasllib, free) },
  { "gsasl_strerror", offsetof(sasllib, strerror) },
} ;

static sasllib lib ;
static int state ;          /* 0 not tried, 1 loaded, -1 failed */
static char why[256] ;

static void failed (char const *what)
{
  char const *d = dlerror() ;
  size_t n = strlen(what) ;
  if (!d) d = "unknown error" ;
  if (n >= sizeof(why)) n = sizeof(why) - 1 ;
  memcpy(why, what, n) ;
  strncpy(why + n, d, sizeof(why) - 1 - n) ;
  why[sizeof(why) - 1] = 0 ;
  state = -1 ;
}

static void load (void)
{
  void *h = dlopen(MPOP_GSASL_SONAME, RTLD_NOW | RTLD_LOCAL) ;
  if (!h) { failed("cannot load GNU SASL: ") ; return ; }
  for (unsigned int i = 0 ; i < sizeof(syms) / sizeof(syms[0]) ; i++)
  {
    void *f = dlsym(h, syms[i].name) ;
    if (!f) { failed("cannot use GNU SASL: ") ; dlclose(h) ; return ; }
    memcpy((char *)&lib + syms[i].offset, &f, sizeof(f)) ;
  }
  state = 1 ;
}

sasllib const *sasllib_get (stralloc *err)
{
  if (!state) load() ;
  if (state > 0) return &lib ;
  if (err && !(stralloc_copys(err, why) && stralloc_0(err))) err->len = 0 ;
  else if (err) err->len-- ;
  return 0 ;
}
