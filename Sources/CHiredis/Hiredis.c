#include "CHiredis.h"
#include "CLibraryLoader.h"

static taskshim_library hiredis = TASKSHIM_LIBRARY("libhiredis.so.0.14", "libhiredis.so");

const char *taskshim_hiredis_load_error(void) { return taskshim_library_load_error(&hiredis); }
