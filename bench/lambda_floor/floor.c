/* The floor for bench/lambda_runtime.py: the least a Lambda custom runtime can do. One reused libcurl
 * handle loops GET next / POST the event back as the response, with no parsing, logging or error
 * handling beyond stopping. Not part of TaskShim; built by the bench into a scratch folder.
 *
 * Like TaskShim it acknowledges response headers at once (TCP_QUICKACK): cargo-lambda's emulator sends
 * headers and body in two writes with Nagle's algorithm on, so without it one event in ten waits
 * 40 ms for the delayed ACK, which would measure the emulator rather than the runtime. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

static int sock = -1;

static int opened(void *context, curl_socket_t fd, curlsocktype purpose) {
    (void)context; (void)purpose;
    sock = fd;
    return CURL_SOCKOPT_OK;
}

struct buffer { char *data; size_t size; };

static size_t body(char *data, size_t size, size_t count, void *context) {
    struct buffer *b = context;
    size_t n = size * count;
    b->data = realloc(b->data, b->size + n + 1);
    memcpy(b->data + b->size, data, n);
    b->size += n;
    b->data[b->size] = 0;
    return n;
}

static size_t header(char *data, size_t size, size_t count, void *context) {
    size_t n = size * count;
    if (n == 2 && data[0] == '\r' && sock >= 0) {
        int one = 1;
        setsockopt(sock, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
    }
    const char *name = "lambda-runtime-aws-request-id:";
    size_t len = strlen(name);
    if (n > len && strncasecmp(data, name, len) == 0) {
        char *id = context;
        size_t start = len;
        while (start < n && data[start] == ' ') start++;
        size_t end = n;
        while (end > start && (data[end - 1] == '\r' || data[end - 1] == '\n')) end--;
        size_t m = end - start < 127 ? end - start : 127;
        memcpy(id, data + start, m);
        id[m] = 0;
    }
    return n;
}

int main(void) {
    const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
    if (!api) return 78;
    char next[512], response[768], id[128];
    snprintf(next, sizeof next, "http://%s/2018-06-01/runtime/invocation/next", api);
    CURL *curl = curl_easy_init();
    struct curl_slist *headers = curl_slist_append(NULL, "Expect:");
    for (;;) {
        struct buffer event = {0};
        id[0] = 0;
        curl_easy_reset(curl);
        curl_easy_setopt(curl, CURLOPT_URL, next);
        curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, body);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, &event);
        curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, header);
        curl_easy_setopt(curl, CURLOPT_HEADERDATA, id);
        curl_easy_setopt(curl, CURLOPT_SOCKOPTFUNCTION, opened);
        if (curl_easy_perform(curl) != CURLE_OK || !id[0]) return 75;
        snprintf(response, sizeof response, "http://%s/2018-06-01/runtime/invocation/%s/response", api, id);
        struct buffer ignored = {0};
        curl_easy_reset(curl);
        curl_easy_setopt(curl, CURLOPT_URL, response);
        curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, event.data ? event.data : "");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)event.size);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, body);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, &ignored);
        if (curl_easy_perform(curl) != CURLE_OK) return 75;
        free(event.data);
        free(ignored.data);
    }
}
