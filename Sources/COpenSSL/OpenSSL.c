#include "COpenSSL.h"
#include "CLibraryLoader.h"

static taskshim_library crypto = TASKSHIM_LIBRARY("libcrypto.so.3", "libcrypto.so");

const char *taskshim_crypto_load_error(void) { return taskshim_library_load_error(&crypto); }

TASKSHIM_LAZY(crypto, const char *, OpenSSL_version, (int type), (type))
TASKSHIM_LAZY(crypto, const EVP_MD *, EVP_sha256, (void), ())
TASKSHIM_LAZY(crypto, unsigned char *, HMAC,
              (const EVP_MD *evp_md, const void *key, int key_len, const unsigned char *d, size_t n, unsigned char *md,
               unsigned int *md_len),
              (evp_md, key, key_len, d, n, md, md_len))
