// AVX-512 elementwise kernels; see include/ckernels.h. Compiled for the generic target, with the
// AVX-512 bodies enabled per function, so the library still loads on CPUs without AVX-512.
#include "ckernels.h"

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f")))

static int has_avx512(void) {
    static int cached = -1;
    if (cached < 0) cached = __builtin_cpu_supports("avx512f") ? 1 : 0;
    return cached;
}

// e^x: n = round(x / ln2), r = x - n ln2 (two steps), degree-6 polynomial, scaled by 2^n.
AVX512 static inline __m512 exp512(__m512 x) {
    const __m512 lo = _mm512_set1_ps(-87.33654f), hi = _mm512_set1_ps(88.72283f);
    __m512 xc = _mm512_min_ps(_mm512_max_ps(x, lo), hi);
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(xc, _mm512_set1_ps(1.442695041f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145752f), xc);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428606765e-6f), r);
    __m512 p = _mm512_set1_ps(1.0f / 720);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    __m512 y = _mm512_scalef_ps(p, n);
    __mmask16 tiny = _mm512_cmp_ps_mask(x, lo, _CMP_LT_OQ);
    return _mm512_mask_mov_ps(y, tiny, _mm512_setzero_ps());
}

// erf(x) (Abramowitz and Stegun 7.1.26) and e^{-x^2}, which GELU's backward needs too.
AVX512 static inline __m512 erf512(__m512 x, __m512 *gaussian) {
    const __m512i signbit = _mm512_set1_epi32((int)0x80000000);
    __m512 a = _mm512_castsi512_ps(_mm512_andnot_si512(signbit, _mm512_castps_si512(x)));
    __m512 t = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_fmadd_ps(_mm512_set1_ps(0.3275911f), a, _mm512_set1_ps(1.0f)));
    __m512 p = _mm512_set1_ps(1.061405429f);
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-1.453152027f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(1.421413741f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-0.284496736f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.254829592f));
    __m512 g = exp512(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_mul_ps(a, a)));
    *gaussian = g;
    __m512 y = _mm512_fnmadd_ps(_mm512_mul_ps(p, t), g, _mm512_set1_ps(1.0f));
    return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(y), _mm512_and_si512(signbit, _mm512_castps_si512(x))));
}

AVX512 static void gelu_row(const float *x, const float *bias, float *z, float *y, size_t n) {
    const __m512 half = _mm512_set1_ps(0.5f), one = _mm512_set1_ps(1.0f), rsqrt2 = _mm512_set1_ps(0.70710678118654752f);
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        __m512 v = _mm512_maskz_loadu_ps(m, x + i);
        if (bias) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, bias + i));
        _mm512_mask_storeu_ps(z + i, m, v);
        __m512 g;
        __m512 e = erf512(_mm512_mul_ps(v, rsqrt2), &g);
        _mm512_mask_storeu_ps(y + i, m, _mm512_mul_ps(_mm512_mul_ps(half, v), _mm512_add_ps(one, e)));
    }
}

AVX512 static void gelu_backward_range(const float *dy, const float *z, float *dz, size_t n) {
    const __m512 half = _mm512_set1_ps(0.5f), one = _mm512_set1_ps(1.0f), rsqrt2 = _mm512_set1_ps(0.70710678118654752f);
    const __m512 invsqrt2pi = _mm512_set1_ps(0.3989422804014327f);
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        __m512 v = _mm512_maskz_loadu_ps(m, z + i);
        __m512 g;
        __m512 e = erf512(_mm512_mul_ps(v, rsqrt2), &g);
        __m512 slope = _mm512_fmadd_ps(v, _mm512_mul_ps(invsqrt2pi, g), _mm512_mul_ps(half, _mm512_add_ps(one, e)));
        _mm512_mask_storeu_ps(dz + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, dy + i), slope));
    }
}

AVX512 static void softmax_row(const float *x, float *y, size_t n) {
    __m512 mx = _mm512_set1_ps(-__builtin_inff());
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        mx = _mm512_mask_max_ps(mx, m, mx, _mm512_maskz_loadu_ps(m, x + i));
    }
    __m512 mv = _mm512_set1_ps(_mm512_reduce_max_ps(mx));
    __m512 sum = _mm512_setzero_ps();
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        __m512 e = exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), mv));
        e = _mm512_maskz_mov_ps(m, e);
        _mm512_mask_storeu_ps(y + i, m, e);
        sum = _mm512_add_ps(sum, e);
    }
    __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sum));
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(y + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, y + i), inv));
    }
}

int kswap_gelu_bias_forward(const float *x, const float *bias, float *z, float *y, size_t rows, size_t dim) {
    if (!has_avx512()) return 0;
    for (size_t r = 0; r < rows; r++) gelu_row(x + r * dim, bias, z + r * dim, y + r * dim, dim);
    return 1;
}

int kswap_gelu_backward(const float *dy, const float *z, float *dz, size_t n) {
    if (!has_avx512()) return 0;
    gelu_backward_range(dy, z, dz, n);
    return 1;
}

int kswap_softmax_rows(const float *x, float *y, size_t rows, size_t dim) {
    if (!has_avx512()) return 0;
    for (size_t r = 0; r < rows; r++) softmax_row(x + r * dim, y + r * dim, dim);
    return 1;
}

#else
int kswap_gelu_bias_forward(const float *x, const float *bias, float *z, float *y, size_t rows, size_t dim) { return 0; }
int kswap_gelu_backward(const float *dy, const float *z, float *dz, size_t n) { return 0; }
int kswap_softmax_rows(const float *x, float *y, size_t rows, size_t dim) { return 0; }
#endif
