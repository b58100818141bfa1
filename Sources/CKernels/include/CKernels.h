// Elementwise and per-row float kernels in C, so that they can use AVX-512 where the CPU has it:
// Swift compiles for baseline x86-64 (SSE2) and cannot enable wider vectors per function.
// Every entry point picks its AVX-512 or generic build once, at run time; both run the same
// arithmetic 16 lanes at a time (the AVX-512 build fuses multiply-adds, so results differ between the
// two builds by float rounding, never between runs or thread counts on one machine).
#ifndef KSWAP_CKERNELS_H
#define KSWAP_CKERNELS_H

#include <stdbool.h>

/// Whether the AVX-512 builds run (F, BW, DQ, VL and FMA present, KSWAP_GENERIC_KERNELS not set to 1).
bool kswap_kernels_use_avx512(void);

/// y = softmax(x) for each of `rows` rows of `dim` floats; y may be x.
void kswap_softmax_rows(const float *x, float *y, long rows, long dim);

/// dx = y * (dy - sum(y * dy)) row by row; dx may be dy.
void kswap_softmax_backward_rows(const float *y, const float *dy, float *dx, long rows, long dim);

/// z = x + bias (bias may be NULL; z may be x), y = gelu(z) with the exact-erf GELU, for `rows` rows.
void kswap_gelu_rows(const float *x, const float *bias, float *z, float *y, long rows, long dim);

/// dz = dy * gelu'(z) for `count` floats; dz may be dy.
void kswap_gelu_backward(const float *dy, const float *z, float *dz, long count);

/// y = (x - mean) * rstd * gamma + beta row by row; writes each row's mean and rstd.
void kswap_layernorm_rows(const float *x, const float *gamma, const float *beta, float *y, float *mean,
                          float *rstd, long rows, long dim, float eps);

/// dx += rstd * (g - mean(g) - xhat * mean(g * xhat)) with g = dy * gamma, row by row.
void kswap_layernorm_backward_rows(const float *dy, const float *x, const float *gamma, const float *mean,
                                   const float *rstd, float *dx, long rows, long dim);

/// Inverted dropout: y = x * scale where the element is kept, else 0; y may be x. Element i, counted from
/// `first` (even), is kept when the low (even i) or high (odd i) 32 bits of output i / 2 of SplitMix64
/// seeded with `key` (SeededGenerator's next(): outputs counted from 0) are at least `threshold`.
void kswap_dropout(const float *x, float *y, long count, unsigned long long key, long first, unsigned int threshold,
                   float scale);

/// e^x for `count` floats (the kernels' exp, for tests).
void kswap_exp(const float *x, float *y, long count);

/// erf(x) for `count` floats (the kernels' erf, for tests).
void kswap_erf(const float *x, float *y, long count);

#endif
