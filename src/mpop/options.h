/* ISC license. */

#ifndef MPOP_OPTIONS_H
#define MPOP_OPTIONS_H

#include <mpop/account.h>

 /* mpop's command line, as GNU getopt_long reads it: options anywhere,
    long options abbreviated to a unique prefix, -- ends them. */

typedef struct options_s options, *options_ref ;
struct options_s
{
  account cli ;                 /* settings given as options */
  char const *file ;
  char const *configure ;       /* the address given to --configure */
  char const **accounts ;       /* room for argc names, given by the caller */
  unsigned int naccounts ;
  unsigned int hostmode : 1 ;
  unsigned int version : 1 ;
  unsigned int help : 1 ;
  unsigned int pretend : 1 ;
  unsigned int debug : 1 ;
  unsigned int serverinfo : 1 ;
  unsigned int all : 1 ;
  unsigned int authonly : 1 ;
  unsigned int statusonly : 1 ;
  unsigned int adopt : 1 ;
  unsigned int fulluidl : 1 ;
  unsigned int quiet : 1 ;
  unsigned int halfquiet : 1 ;
  unsigned int mda : 1 ;
} ;
#define OPTIONS_ZERO { .cli = { 0 }, .file = 0, .configure = 0, .accounts = 0, .naccounts = 0 }

extern void options_parse (options *, int, char const *const *) ;
extern char const *options_help (void) ;
extern char const *options_auth_methods (void) ;

#endif
