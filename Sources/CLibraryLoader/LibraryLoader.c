#define _GNU_SOURCE
#include "CLibraryLoader.h"

#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Tries each name in turn; on failure writes "<first name> cannot be loaded (<loader's reason>)". */
static void *open_first(const char *const *names, char *error, size_t capacity) {
    char reason[256] = "no file name given";
    for (int i = 0; names[i] != NULL; i++) {
        /* RTLD_LOCAL: its symbols serve only the lookups made through the handle. */
        void *handle = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
        if (handle != NULL) return handle;
        const char *message = dlerror();
        snprintf(reason, sizeof reason, "%s", message ? message : "unknown error");
    }
    snprintf(error, capacity, "%s cannot be loaded (%s)", names[0] ? names[0] : "?", reason);
    return NULL;
}

/* pthread_once takes no argument: the library being opened is handed over in a thread-local. */
static __thread taskshim_library *opening;

static void open_library(void) {
    taskshim_library *library = opening;
    library->handle = open_first(library->names, library->error, sizeof library->error);
}

const char *taskshim_library_load_error(taskshim_library *library) {
    opening = library;
    pthread_once(&library->once, open_library);
    opening = NULL;
    return library->handle != NULL ? NULL : library->error;
}

void *taskshim_library_symbol(taskshim_library *library, const char *name) {
    const char *error = taskshim_library_load_error(library);
    if (error != NULL) {
        fprintf(stderr, "taskshim: %s, and %s needs it. Install the library; docs/configuration.md lists the packages.\n",
                error, name);
        abort();
    }
    void *symbol = dlsym(library->handle, name);
    if (symbol == NULL) {
        fprintf(stderr, "taskshim: %s has no function %s: the installed version is too old.\n", library->names[0], name);
        abort();
    }
    return symbol;
}

void *taskshim_library_optional_symbol(taskshim_library *library, const char *name) {
    if (taskshim_library_load_error(library) != NULL) return NULL;
    return dlsym(library->handle, name);
}

const char *taskshim_library_probe(const char *const *names, char *error, size_t capacity) {
    void *handle = open_first(names, error, capacity);
    if (handle == NULL) return error;
    dlclose(handle);
    return NULL;
}

int taskshim_library_path(const char *name, char *path, size_t capacity) {
    void *handle = dlopen(name, RTLD_LAZY | RTLD_LOCAL);
    if (handle == NULL) {
        const char *message = dlerror();
        snprintf(path, capacity, "%s", message ? message : "unknown error");
        return -1;
    }
    struct link_map *map = NULL;
    int status = dlinfo(handle, RTLD_DI_LINKMAP, &map);
    if (status == 0 && map != NULL && map->l_name != NULL) {
        snprintf(path, capacity, "%s", map->l_name);
    } else {
        snprintf(path, capacity, "the loader does not say where %s is", name);
        status = -1;
    }
    dlclose(handle);
    return status;
}
