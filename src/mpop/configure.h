/* ISC license. */

#ifndef MPOP_CONFIGURE_H
#define MPOP_CONFIGURE_H

 /* mpop --configure=ADDRESS: finds the POP3 server of the address in DNS
    SRV records and prints an account for it. file is the configuration
    file named in the output (the default one if null). Returns the exit
    code; errors are already reported. */
extern int configure (char const *address, char const *file) ;

#endif
