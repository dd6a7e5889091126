#include "CLibPQ.h"
#include "CLibraryLoader.h"

static taskshim_library pq = TASKSHIM_LIBRARY("libpq.so.5", "libpq.so");

const char *taskshim_pq_load_error(void) { return taskshim_library_load_error(&pq); }

TASKSHIM_LAZY(pq, int, PQlibVersion, (void), ())
TASKSHIM_LAZY(pq, PGconn *, PQconnectdbParams, (const char *const *keywords, const char *const *values, int expand), (keywords, values, expand))
TASKSHIM_LAZY(pq, ConnStatusType, PQstatus, (const PGconn *conn), (conn))
TASKSHIM_LAZY(pq, char *, PQerrorMessage, (const PGconn *conn), (conn))
TASKSHIM_LAZY_VOID(pq, PQfinish, (PGconn *conn), (conn))
TASKSHIM_LAZY(pq, PGcancel *, PQgetCancel, (PGconn *conn), (conn))
TASKSHIM_LAZY_VOID(pq, PQfreeCancel, (PGcancel *cancel), (cancel))
TASKSHIM_LAZY(pq, int, PQcancel, (PGcancel *cancel, char *buffer, int size), (cancel, buffer, size))
TASKSHIM_LAZY(pq, int, PQsendQueryParams,
              (PGconn *conn, const char *command, int count, const Oid *types, const char *const *values,
               const int *lengths, const int *formats, int resultFormat),
              (conn, command, count, types, values, lengths, formats, resultFormat))
TASKSHIM_LAZY(pq, int, PQsetSingleRowMode, (PGconn *conn), (conn))
TASKSHIM_LAZY(pq, PGresult *, PQgetResult, (PGconn *conn), (conn))
TASKSHIM_LAZY(pq, ExecStatusType, PQresultStatus, (const PGresult *result), (result))
TASKSHIM_LAZY(pq, char *, PQresultErrorField, (const PGresult *result, int field), (result, field))
TASKSHIM_LAZY(pq, int, PQnfields, (const PGresult *result), (result))
TASKSHIM_LAZY(pq, char *, PQfname, (const PGresult *result, int field), (result, field))
TASKSHIM_LAZY(pq, char *, PQgetvalue, (const PGresult *result, int row, int field), (result, row, field))
TASKSHIM_LAZY(pq, int, PQgetisnull, (const PGresult *result, int row, int field), (result, row, field))
TASKSHIM_LAZY_VOID(pq, PQclear, (PGresult *result), (result))
TASKSHIM_LAZY(pq, int, PQconsumeInput, (PGconn *conn), (conn))
TASKSHIM_LAZY(pq, PGnotify *, PQnotifies, (PGconn *conn), (conn))
TASKSHIM_LAZY(pq, int, PQsocket, (const PGconn *conn), (conn))
TASKSHIM_LAZY_VOID(pq, PQfreemem, (void *ptr), (ptr))
