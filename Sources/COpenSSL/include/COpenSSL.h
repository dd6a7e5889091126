#ifndef TASKSHIM_COPENSSL_H
#define TASKSHIM_COPENSSL_H

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/opensslv.h>

/* libcrypto is opened on first use (see CLibraryLoader.h). NULL when it loads, otherwise why not.
   Each function used is defined in OpenSSL.c; add one there before calling it. */
const char *taskshim_crypto_load_error(void);

#endif
