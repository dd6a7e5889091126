#ifndef TASKSHIM_CSQLITE_H
#define TASKSHIM_CSQLITE_H

#include <sqlite3.h>

/* libsqlite3 is opened on first use (see CLibraryLoader.h). NULL when it loads, otherwise why not. */
const char *taskshim_sqlite_load_error(void);

/* SQLITE_TRANSIENT is a macro casting -1 to a function pointer, which Swift cannot import. */
static inline sqlite3_destructor_type taskshim_sqlite_transient(void) { return SQLITE_TRANSIENT; }

#endif
