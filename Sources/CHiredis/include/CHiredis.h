#ifndef TASKSHIM_CHIREDIS_H
#define TASKSHIM_CHIREDIS_H

#include <hiredis/hiredis.h>

/* libhiredis is opened on first use (see CLibraryLoader.h). NULL when it loads, otherwise why not.
   Each function used is defined in Hiredis.c; add one there before calling it. */
const char *taskshim_hiredis_load_error(void);

#endif
