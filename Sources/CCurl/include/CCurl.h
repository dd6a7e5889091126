#ifndef TASKSHIM_CCURL_H
#define TASKSHIM_CCURL_H

#include <curl/curl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

/* libcurl is opened on first use (see CLibraryLoader.h). NULL when it loads, otherwise why not. */
const char *taskshim_curl_load_error(void);

/* curl_easy_setopt and curl_easy_getinfo are variadic, which Swift does not import:
   one typed wrapper per argument kind. */
CURLcode taskshim_curl_setopt_long(CURL *h, CURLoption o, long v);
CURLcode taskshim_curl_setopt_off(CURL *h, CURLoption o, curl_off_t v);
CURLcode taskshim_curl_setopt_string(CURL *h, CURLoption o, const char *v);
CURLcode taskshim_curl_setopt_pointer(CURL *h, CURLoption o, void *v);
CURLcode taskshim_curl_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v);
CURLcode taskshim_curl_setopt_write(CURL *h, CURLoption o, size_t (*f)(char *, size_t, size_t, void *));
CURLcode taskshim_curl_setopt_xferinfo(CURL *h, CURLoption o, int (*f)(void *, curl_off_t, curl_off_t, curl_off_t, curl_off_t));
CURLcode taskshim_curl_setopt_sockopt(CURL *h, CURLoption o, int (*f)(void *, curl_socket_t, curlsocktype));
CURLcode taskshim_curl_getinfo_long(CURL *h, CURLINFO i, long *v);

/* Sends the pending ACK for what was received at once instead of after the delayed-ACK timer (40 ms on
   Linux). A server that writes a response's headers and body separately with Nagle's algorithm on holds
   the body until the headers are acknowledged; cargo-lambda's Runtime API emulator is one. */
static inline void taskshim_tcp_quickack(int fd) {
#ifdef TCP_QUICKACK
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
#else
    (void)fd;
#endif
}

#endif
