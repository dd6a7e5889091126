/* bootstrap: the entry point of a TaskShim Lambda bundle (runtime provided.al2023 or provided.al2).
 *
 * Lambda runs $LAMBDA_TASK_ROOT/bootstrap with AWS_LAMBDA_RUNTIME_API and _HANDLER set; this hands
 * over to `runtime lambda`, which serves events until Lambda stops the environment. When the bundle
 * carries its own dynamic loader and glibc under lib/ (as `runtime package lambda` writes it), the
 * binary is started through that loader with lib/ as its only library path, so the bundle runs
 * whatever the host's glibc is.
 *
 * A static executable, not a shell script: it needs nothing from the host, not even /bin/sh.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const loaders[] = {"ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1"};

int main(int argc, char **argv) {
    char root[PATH_MAX];
    const char *task_root = getenv("LAMBDA_TASK_ROOT");
    if (task_root != NULL && task_root[0] != '\0') {
        snprintf(root, sizeof root, "%s", task_root);
    } else {
        /* Run by hand: the bundle is the directory this file is in. */
        ssize_t length = readlink("/proc/self/exe", root, sizeof root - 1);
        if (length <= 0) {
            fprintf(stderr, "bootstrap: LAMBDA_TASK_ROOT is not set and /proc/self/exe cannot be read\n");
            return 127;
        }
        root[length] = '\0';
        char *slash = strrchr(root, '/');
        if (slash != NULL) *slash = '\0';
    }
    char runtime[PATH_MAX], lib[PATH_MAX], loader[PATH_MAX];
    snprintf(runtime, sizeof runtime, "%s/runtime", root);
    snprintf(lib, sizeof lib, "%s/lib", root);
    /* The loader, its options, the binary, "lambda", the caller's arguments, NULL. */
    char **arguments = calloc((size_t)argc + 6, sizeof *arguments);
    if (arguments == NULL) return 127;
    int n = 0;
    const char *program = runtime;
    for (size_t i = 0; i < sizeof loaders / sizeof *loaders; i++) {
        snprintf(loader, sizeof loader, "%s/%s", lib, loaders[i]);
        if (access(loader, X_OK) != 0) continue;
        program = loader;
        arguments[n++] = loader;
        arguments[n++] = "--library-path";
        arguments[n++] = lib;
        break;
    }
    arguments[n++] = runtime;
    arguments[n++] = "lambda";
    for (int j = 1; j < argc; j++) arguments[n++] = argv[j];
    arguments[n] = NULL;
    execv(program, arguments);
    fprintf(stderr, "bootstrap: cannot start %s: %s\n", program, strerror(errno));
    return 127;
}
