#ifndef TASKSHIM_GLIBC_COMPAT_H
#define TASKSHIM_GLIBC_COMPAT_H

/* Linked into the `runtime` executable so it runs on glibc 2.34 (Amazon Linux 2023, Lambda's
   provided.al2023) when built on a newer one. See GlibcCompat.c. Nothing to call from Swift. */

#endif
