/* ISC license. */

#ifndef MPOP_SASLLIB_INTERNAL_H
#define MPOP_SASLLIB_INTERNAL_H

#include <stddef.h>

#include <skalibs/stralloc.h>

#include <gsasl.h>

 /* libgsasl, loaded with dlopen() on first use: a program that
    authenticates with USER/PASS or APOP never maps it nor the libraries
    it depends on. */

typedef struct sasllib_s sasllib, *sasllib_ref ;
struct sasllib_s
{
  int (*init) (Gsasl **) ;
  void (*done) (Gsasl *) ;
  char const *(*check_version) (char const *) ;
  int (*client_support_p) (Gsasl *, char const *) ;
  int (*client_start) (Gsasl *, char const *, Gsasl_session **) ;
  int (*property_set) (Gsasl_session *, Gsasl_property, char const *) ;
  char const *(*property_fast) (Gsasl_session *, Gsasl_property) ;
  int (*step) (Gsasl_session *, char const *, size_t, char **, size_t *) ;
  void (*finish) (Gsasl_session *) ;
  void (*free) (void *) ;
  char const *(*strerror) (int) ;
} ;

 /* The library's functions, or 0 if it cannot be loaded; then, if err is
    not 0, err holds why (empty when out of memory). Loaded once per
    process; a failure is remembered. */
extern sasllib const *sasllib_get (stralloc *err) ;

#endif
