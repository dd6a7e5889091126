#ifndef TASKSHIM_LIBRARY_LOADER_H
#define TASKSHIM_LIBRARY_LOADER_H

#include <pthread.h>
#include <stddef.h>

/* A C library opened with dlopen on its first use instead of by the dynamic linker at exec.
   libcurl and libpq each pull in some thirty libraries (Kerberos, LDAP, GnuTLS...) whose loading
   costs about 5 ms; a run that needs neither, such as a Lambda function, should not pay it. */
typedef struct taskshim_library {
    /* The file names to try, most specific first, ending with NULL. */
    const char *names[4];
    pthread_once_t once;
    void *handle;
    char error[512];
} taskshim_library;

#define TASKSHIM_LIBRARY(...) { { __VA_ARGS__, NULL }, PTHREAD_ONCE_INIT, NULL, { 0 } }

/* Opens the library if it is not open yet. NULL when it is loaded; otherwise why it cannot be. */
const char *taskshim_library_load_error(taskshim_library *library);

/* The address of a function of the library. A library or function that cannot be found ends the
   process with a message: callers check taskshim_library_load_error first where absence is
   expected (an optional client), so this only happens with a broken installation. */
void *taskshim_library_symbol(taskshim_library *library, const char *name);

/* The address of a function that only newer versions of the library have: NULL when the library or
   the function is missing. */
void *taskshim_library_optional_symbol(taskshim_library *library, const char *name);

/* Whether a library can be opened, trying `names` (ending with NULL) the way the loader does: NULL
   when one loads (it is closed again), otherwise the same message, written into `error`. */
const char *taskshim_library_probe(const char *const *names, char *error, size_t capacity);

/* The file the loader opens for `name` (a soname such as "libcurl.so.4"), written into `path`: 0, or
   -1 with the loader's reason in `path`. The library is opened and closed again. */
int taskshim_library_path(const char *name, char *path, size_t capacity);

/* taskshim_library_symbol, remembered in `*slot` so later calls cost one atomic load. */
static inline void *taskshim_library_cached_symbol(taskshim_library *library, void **slot, const char *name) {
    void *symbol = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (symbol == NULL) {
        symbol = taskshim_library_symbol(library, name);
        __atomic_store_n(slot, symbol, __ATOMIC_RELEASE);
    }
    return symbol;
}

/* Defines `name` as a function that resolves the library's own on first call and jumps to it. Hidden,
   so the library's internal calls to its exported functions are not routed through us. */
#define TASKSHIM_LAZY(library, ret, name, params, args)                                    \
    __attribute__((visibility("hidden"))) ret name params {                                \
        static void *slot;                                                                 \
        return ((ret (*) params)taskshim_library_cached_symbol(&library, &slot, #name)) args; \
    }

#define TASKSHIM_LAZY_VOID(library, name, params, args)                                    \
    __attribute__((visibility("hidden"))) void name params {                               \
        static void *slot;                                                                 \
        ((void (*) params)taskshim_library_cached_symbol(&library, &slot, #name)) args;    \
    }

#endif
