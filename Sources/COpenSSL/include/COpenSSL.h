#ifndef TASKSHIM_COPENSSL_H
#define TASKSHIM_COPENSSL_H

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/opensslv.h>
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <openssl/pem.h>
#include <openssl/bio.h>

/* libcrypto is opened on first use (see CLibraryLoader.h). NULL when it loads, otherwise why not.
   Each function used is defined in OpenSSL.c; add one there before calling it. */
const char *taskshim_crypto_load_error(void);

/* libssl, opened on first use like libcrypto: NULL when it loads, otherwise why not. */
const char *taskshim_ssl_load_error(void);

/* SSL_set_tlsext_host_name and SSL_CTX_set_min_proto_version are macros over SSL_ctrl /
   SSL_CTX_ctrl, which Swift cannot call: functions instead. */
static inline long taskshim_ssl_set_sni(SSL *ssl, const char *name) {
    return SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, (void *)name);
}
static inline long taskshim_ssl_ctx_min_tls12(SSL_CTX *ctx) {
    return SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, TLS1_2_VERSION, NULL);
}

#endif
