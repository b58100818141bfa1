// AVX-512 versions of the engine's transcendental elementwise loops (GELU, softmax), chosen at run
// time: each function returns 0 without touching its output when the CPU lacks AVX-512F, and the
// Swift caller then runs its portable loop. Same formulas as Tensors/FastMath.swift.
#ifndef KSWAP_CKERNELS_H
#define KSWAP_CKERNELS_H

#include <stddef.h>

/// z = x + bias (bias may be NULL; z may be x), y = gelu(z), for rows x dim. Returns 1 if done.
int kswap_gelu_bias_forward(const float *x, const float *bias, float *z, float *y, size_t rows, size_t dim);

/// dz = dy * gelu'(z) for n elements (dz may be dy). Returns 1 if done.
int kswap_gelu_backward(const float *dy, const float *z, float *dz, size_t n);

/// y = softmax(x) for each of rows rows of length dim (y may be x). Returns 1 if done.
int kswap_softmax_rows(const float *x, float *y, size_t rows, size_t dim);

#endif
