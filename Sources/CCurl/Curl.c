#include "CCurl.h"
#include "CLibraryLoader.h"

static taskshim_library curl = TASKSHIM_LIBRARY("libcurl.so.4", "libcurl.so");

const char *taskshim_curl_load_error(void) { return taskshim_library_load_error(&curl); }

TASKSHIM_LAZY(curl, CURLcode, curl_global_init, (long flags), (flags))
TASKSHIM_LAZY(curl, CURL *, curl_easy_init, (void), ())
TASKSHIM_LAZY_VOID(curl, curl_easy_reset, (CURL *h), (h))
TASKSHIM_LAZY_VOID(curl, curl_easy_cleanup, (CURL *h), (h))
TASKSHIM_LAZY(curl, CURLcode, curl_easy_perform, (CURL *h), (h))
TASKSHIM_LAZY(curl, const char *, curl_easy_strerror, (CURLcode code), (code))
TASKSHIM_LAZY(curl, struct curl_slist *, curl_slist_append, (struct curl_slist *list, const char *text), (list, text))
TASKSHIM_LAZY_VOID(curl, curl_slist_free_all, (struct curl_slist *list), (list))
TASKSHIM_LAZY(curl, char *, curl_version, (void), ())

typedef CURLcode (*setopt_function)(CURL *, CURLoption, ...);
typedef CURLcode (*getinfo_function)(CURL *, CURLINFO, ...);

static setopt_function setopt(void) {
    static void *slot;
    return (setopt_function)taskshim_library_cached_symbol(&curl, &slot, "curl_easy_setopt");
}

static getinfo_function getinfo(void) {
    static void *slot;
    return (getinfo_function)taskshim_library_cached_symbol(&curl, &slot, "curl_easy_getinfo");
}

CURLcode taskshim_curl_setopt_long(CURL *h, CURLoption o, long v) { return setopt()(h, o, v); }
CURLcode taskshim_curl_setopt_off(CURL *h, CURLoption o, curl_off_t v) { return setopt()(h, o, v); }
CURLcode taskshim_curl_setopt_string(CURL *h, CURLoption o, const char *v) { return setopt()(h, o, v); }
CURLcode taskshim_curl_setopt_pointer(CURL *h, CURLoption o, void *v) { return setopt()(h, o, v); }
CURLcode taskshim_curl_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v) { return setopt()(h, o, v); }
CURLcode taskshim_curl_setopt_write(CURL *h, CURLoption o, size_t (*f)(char *, size_t, size_t, void *)) { return setopt()(h, o, f); }
CURLcode taskshim_curl_setopt_xferinfo(CURL *h, CURLoption o, int (*f)(void *, curl_off_t, curl_off_t, curl_off_t, curl_off_t)) { return setopt()(h, o, f); }
CURLcode taskshim_curl_setopt_sockopt(CURL *h, CURLoption o, int (*f)(void *, curl_socket_t, curlsocktype)) { return setopt()(h, o, f); }
CURLcode taskshim_curl_getinfo_long(CURL *h, CURLINFO i, long *v) { return getinfo()(h, i, v); }
