// ZSTD_compressSequences (literal-only frames for weight exponents) is in zstd's stable-ABI
// "static" section, exported by the shared library since 1.5.
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>
