#include "COpenSSL.h"
#include "CLibraryLoader.h"

static taskshim_library crypto = TASKSHIM_LIBRARY("libcrypto.so.3", "libcrypto.so");

const char *taskshim_crypto_load_error(void) { return taskshim_library_load_error(&crypto); }

TASKSHIM_LAZY(crypto, const char *, OpenSSL_version, (int type), (type))
