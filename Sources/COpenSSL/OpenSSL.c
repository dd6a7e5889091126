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

/* SHA-256 digests of files (image layers and blobs). */
TASKSHIM_LAZY(crypto, int, EVP_DigestInit_ex, (EVP_MD_CTX *ctx, const EVP_MD *type, ENGINE *impl), (ctx, type, impl))
TASKSHIM_LAZY(crypto, int, EVP_DigestUpdate, (EVP_MD_CTX *ctx, const void *d, size_t cnt), (ctx, d, cnt))
TASKSHIM_LAZY(crypto, int, EVP_DigestFinal_ex, (EVP_MD_CTX *ctx, unsigned char *md, unsigned int *s), (ctx, md, s))

/* RS256 signatures (Google service-account JWTs). */
TASKSHIM_LAZY(crypto, BIO *, BIO_new_mem_buf, (const void *buf, int len), (buf, len))
TASKSHIM_LAZY(crypto, int, BIO_free, (BIO *a), (a))
TASKSHIM_LAZY(crypto, EVP_PKEY *, PEM_read_bio_PrivateKey, (BIO *bp, EVP_PKEY **x, pem_password_cb *cb, void *u), (bp, x, cb, u))
TASKSHIM_LAZY_VOID(crypto, EVP_PKEY_free, (EVP_PKEY *pkey), (pkey))
TASKSHIM_LAZY(crypto, EVP_MD_CTX *, EVP_MD_CTX_new, (void), ())
TASKSHIM_LAZY_VOID(crypto, EVP_MD_CTX_free, (EVP_MD_CTX *ctx), (ctx))
TASKSHIM_LAZY(crypto, int, EVP_DigestSignInit,
              (EVP_MD_CTX *ctx, EVP_PKEY_CTX **pctx, const EVP_MD *type, ENGINE *e, EVP_PKEY *pkey), (ctx, pctx, type, e, pkey))
TASKSHIM_LAZY(crypto, int, EVP_DigestSign,
              (EVP_MD_CTX *ctx, unsigned char *sigret, size_t *siglen, const unsigned char *tbs, size_t tbslen),
              (ctx, sigret, siglen, tbs, tbslen))

TASKSHIM_LAZY(crypto, unsigned long, ERR_get_error, (void), ())
TASKSHIM_LAZY_VOID(crypto, ERR_clear_error, (void), ())
TASKSHIM_LAZY_VOID(crypto, ERR_error_string_n, (unsigned long e, char *buf, size_t len), (e, buf, len))
TASKSHIM_LAZY(crypto, const char *, X509_verify_cert_error_string, (long n), (n))
TASKSHIM_LAZY(crypto, int, X509_VERIFY_PARAM_set1_ip_asc, (X509_VERIFY_PARAM *param, const char *ipasc), (param, ipasc))

static taskshim_library libssl = TASKSHIM_LIBRARY("libssl.so.3", "libssl.so");

const char *taskshim_ssl_load_error(void) { return taskshim_library_load_error(&libssl); }

TASKSHIM_LAZY(libssl, const SSL_METHOD *, TLS_client_method, (void), ())
TASKSHIM_LAZY(libssl, SSL_CTX *, SSL_CTX_new, (const SSL_METHOD *method), (method))
TASKSHIM_LAZY_VOID(libssl, SSL_CTX_free, (SSL_CTX *ctx), (ctx))
TASKSHIM_LAZY(libssl, long, SSL_CTX_ctrl, (SSL_CTX *ctx, int cmd, long larg, void *parg), (ctx, cmd, larg, parg))
TASKSHIM_LAZY(libssl, int, SSL_CTX_set_default_verify_paths, (SSL_CTX *ctx), (ctx))
TASKSHIM_LAZY(libssl, int, SSL_CTX_load_verify_locations, (SSL_CTX *ctx, const char *file, const char *path), (ctx, file, path))
TASKSHIM_LAZY_VOID(libssl, SSL_CTX_set_verify, (SSL_CTX *ctx, int mode, SSL_verify_cb callback), (ctx, mode, callback))
TASKSHIM_LAZY(libssl, SSL *, SSL_new, (SSL_CTX *ctx), (ctx))
TASKSHIM_LAZY_VOID(libssl, SSL_free, (SSL *s), (s))
TASKSHIM_LAZY(libssl, int, SSL_set_fd, (SSL *s, int fd), (s, fd))
TASKSHIM_LAZY(libssl, long, SSL_ctrl, (SSL *s, int cmd, long larg, void *parg), (s, cmd, larg, parg))
TASKSHIM_LAZY(libssl, int, SSL_set1_host, (SSL *s, const char *hostname), (s, hostname))
TASKSHIM_LAZY(libssl, int, SSL_connect, (SSL *s), (s))
TASKSHIM_LAZY(libssl, int, SSL_read, (SSL *s, void *buf, int num), (s, buf, num))
TASKSHIM_LAZY(libssl, int, SSL_write, (SSL *s, const void *buf, int num), (s, buf, num))
TASKSHIM_LAZY(libssl, int, SSL_shutdown, (SSL *s), (s))
TASKSHIM_LAZY(libssl, int, SSL_get_error, (const SSL *s, int ret), (s, ret))
TASKSHIM_LAZY(libssl, long, SSL_get_verify_result, (const SSL *s), (s))
TASKSHIM_LAZY(libssl, X509_VERIFY_PARAM *, SSL_get0_param, (SSL *ssl), (ssl))
