#include "CZlib.h"
#include "CLibraryLoader.h"

static taskshim_library zlib = TASKSHIM_LIBRARY("libz.so.1", "libz.so");

const char *taskshim_zlib_load_error(void) { return taskshim_library_load_error(&zlib); }

TASKSHIM_LAZY(zlib, int, deflateInit2_,
              (z_streamp strm, int level, int method, int windowBits, int memLevel, int strategy, const char *version, int stream_size),
              (strm, level, method, windowBits, memLevel, strategy, version, stream_size))
TASKSHIM_LAZY(zlib, int, deflate, (z_streamp strm, int flush), (strm, flush))
TASKSHIM_LAZY(zlib, int, deflateEnd, (z_streamp strm), (strm))
TASKSHIM_LAZY(zlib, uLong, deflateBound, (z_streamp strm, uLong sourceLen), (strm, sourceLen))
TASKSHIM_LAZY(zlib, uLong, crc32, (uLong crc, const Bytef *buf, uInt len), (crc, buf, len))

int taskshim_deflate_init(z_stream *stream, int level, int window_bits) {
    return deflateInit2_(stream, level, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, (int)sizeof(z_stream));
}
