#include "CGlibcCompat.h"

/* The static Swift Glibc overlay calls hypotf, which glibc 2.35 gave a new symbol version, so a
   binary built on Debian bookworm (2.36) would refuse to start on glibc 2.34. Defined here, hidden,
   the overlay's calls bind to this at link time and the binary imports no hypotf at all. It computes
   as glibc's own does, in double: a float's square is exact there. */
__attribute__((visibility("hidden"))) float hypotf(float x, float y) {
    if (__builtin_isinf(x) || __builtin_isinf(y)) return __builtin_inff();
    double a = (double)x, b = (double)y;
    return (float)__builtin_sqrt(a * a + b * b);
}
