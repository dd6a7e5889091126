#include "CHiredis.h"
#include "CLibraryLoader.h"

/* Only the soname the headers describe: hiredis 1.x changed the layout of redisReply and redisReader,
   which this code reads directly. */
static taskshim_library hiredis = TASKSHIM_LIBRARY("libhiredis.so.0.14");

const char *taskshim_hiredis_load_error(void) { return taskshim_library_load_error(&hiredis); }

TASKSHIM_LAZY(hiredis, redisReader *, redisReaderCreate, (void), ())
TASKSHIM_LAZY_VOID(hiredis, redisReaderFree, (redisReader *r), (r))
TASKSHIM_LAZY(hiredis, int, redisReaderFeed, (redisReader *r, const char *buf, size_t len), (r, buf, len))
TASKSHIM_LAZY(hiredis, int, redisReaderGetReply, (redisReader *r, void **reply), (r, reply))
TASKSHIM_LAZY_VOID(hiredis, freeReplyObject, (void *reply), (reply))
TASKSHIM_LAZY(hiredis, int, redisFormatCommandArgv, (char **target, int argc, const char **argv, const size_t *argvlen),
              (target, argc, argv, argvlen))
TASKSHIM_LAZY_VOID(hiredis, redisFreeCommand, (char *cmd), (cmd))
