#ifndef TASKSHIM_CZLIB_H
#define TASKSHIM_CZLIB_H

#include <zlib.h>

/* libz, opened on first use (see CLibraryLoader.h): NULL when it loads, otherwise why not. Only the
   packager compresses, so no other command loads it. */
const char *taskshim_zlib_load_error(void);

/* deflateInit2 is a macro over deflateInit2_, which Swift cannot expand. windowBits: -15 for raw
   deflate (zip entries), 31 for gzip (image layers). */
int taskshim_deflate_init(z_stream *stream, int level, int window_bits);

#endif
