#include "CSQLite.h"
#include "CLibraryLoader.h"

static taskshim_library sqlite = TASKSHIM_LIBRARY("libsqlite3.so.0", "libsqlite3.so");

const char *taskshim_sqlite_load_error(void) { return taskshim_library_load_error(&sqlite); }

TASKSHIM_LAZY(sqlite, const char *, sqlite3_libversion, (void), ())
TASKSHIM_LAZY(sqlite, int, sqlite3_open_v2, (const char *path, sqlite3 **db, int flags, const char *vfs), (path, db, flags, vfs))
TASKSHIM_LAZY(sqlite, int, sqlite3_close_v2, (sqlite3 *db), (db))
TASKSHIM_LAZY(sqlite, int, sqlite3_busy_timeout, (sqlite3 *db, int ms), (db, ms))
TASKSHIM_LAZY(sqlite, int, sqlite3_extended_result_codes, (sqlite3 *db, int on), (db, on))
TASKSHIM_LAZY(sqlite, const char *, sqlite3_errmsg, (sqlite3 *db), (db))
TASKSHIM_LAZY(sqlite, const char *, sqlite3_errstr, (int code), (code))

/* New in SQLite 3.38 (Ubuntu 22.04 has 3.37, Amazon Linux 2 3.7): -1, "no offset", where it is missing. */
__attribute__((visibility("hidden"))) int sqlite3_error_offset(sqlite3 *db) {
    static void *slot;
    static int looked;
    if (!__atomic_load_n(&looked, __ATOMIC_ACQUIRE)) {
        __atomic_store_n(&slot, taskshim_library_optional_symbol(&sqlite, "sqlite3_error_offset"), __ATOMIC_RELEASE);
        __atomic_store_n(&looked, 1, __ATOMIC_RELEASE);
    }
    int (*function)(sqlite3 *) = (int (*)(sqlite3 *))__atomic_load_n(&slot, __ATOMIC_ACQUIRE);
    return function ? function(db) : -1;
}
TASKSHIM_LAZY(sqlite, int, sqlite3_exec,
              (sqlite3 *db, const char *sql, int (*callback)(void *, int, char **, char **), void *argument, char **error),
              (db, sql, callback, argument, error))
TASKSHIM_LAZY_VOID(sqlite, sqlite3_free, (void *pointer), (pointer))
TASKSHIM_LAZY_VOID(sqlite, sqlite3_progress_handler, (sqlite3 *db, int steps, int (*handler)(void *), void *argument),
                   (db, steps, handler, argument))
TASKSHIM_LAZY(sqlite, int, sqlite3_prepare_v2, (sqlite3 *db, const char *sql, int length, sqlite3_stmt **statement, const char **tail),
              (db, sql, length, statement, tail))
TASKSHIM_LAZY(sqlite, int, sqlite3_bind_parameter_count, (sqlite3_stmt *statement), (statement))
TASKSHIM_LAZY(sqlite, const char *, sqlite3_bind_parameter_name, (sqlite3_stmt *statement, int index), (statement, index))
TASKSHIM_LAZY(sqlite, int, sqlite3_bind_null, (sqlite3_stmt *statement, int index), (statement, index))
TASKSHIM_LAZY(sqlite, int, sqlite3_bind_int64, (sqlite3_stmt *statement, int index, sqlite3_int64 value), (statement, index, value))
TASKSHIM_LAZY(sqlite, int, sqlite3_bind_double, (sqlite3_stmt *statement, int index, double value), (statement, index, value))
TASKSHIM_LAZY(sqlite, int, sqlite3_bind_text, (sqlite3_stmt *statement, int index, const char *text, int length, void (*destructor)(void *)),
              (statement, index, text, length, destructor))
TASKSHIM_LAZY(sqlite, int, sqlite3_step, (sqlite3_stmt *statement), (statement))
TASKSHIM_LAZY(sqlite, int, sqlite3_reset, (sqlite3_stmt *statement), (statement))
TASKSHIM_LAZY(sqlite, int, sqlite3_finalize, (sqlite3_stmt *statement), (statement))
TASKSHIM_LAZY(sqlite, int, sqlite3_column_count, (sqlite3_stmt *statement), (statement))
TASKSHIM_LAZY(sqlite, const char *, sqlite3_column_name, (sqlite3_stmt *statement, int column), (statement, column))
TASKSHIM_LAZY(sqlite, int, sqlite3_column_type, (sqlite3_stmt *statement, int column), (statement, column))
TASKSHIM_LAZY(sqlite, const unsigned char *, sqlite3_column_text, (sqlite3_stmt *statement, int column), (statement, column))
