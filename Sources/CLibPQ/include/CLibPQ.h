#ifndef TASKSHIM_CLIBPQ_H
#define TASKSHIM_CLIBPQ_H

#include <postgresql/libpq-fe.h>

/* libpq is opened on first use (see CLibraryLoader.h). NULL when it loads, otherwise why not. */
const char *taskshim_pq_load_error(void);

#endif
