// The kernels of CKernels.h. Each is written once, on 16-float vectors (clang's vector extension), as an
// always-inlined body; DISPATCH compiles it twice, for AVX-512 and for baseline x86-64, and picks one
// at run time. The math: exp by Cody-Waite reduction and a degree-6 polynomial (2 ulp; inputs below
// -87.3 give 0), erf by Abramowitz and Stegun 7.1.26 (1.5e-7 absolute), both branch-free.
#include "CKernels.h"

// The helpers take and return 16-float vectors; they are always inlined, so no call passes one.
#pragma clang diagnostic ignored "-Wpsabi"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef float v16 __attribute__((vector_size(64)));
typedef int v16i __attribute__((vector_size(64)));

#define INLINE static inline __attribute__((always_inline))
#define AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma,avx2")))

bool kswap_kernels_use_avx512(void) {
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        // KSWAP_GENERIC_KERNELS=1 runs the baseline build anyway (to test it on an AVX-512 machine).
        const char *generic = getenv("KSWAP_GENERIC_KERNELS");
        cached = !(generic && generic[0] == '1') && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
            && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl")
            && __builtin_cpu_supports("fma");
    }
    return cached;
}

// Two builds of one body: `name` calls name_avx512 or name_generic.
#define DISPATCH(name, params, args)                                        \
    AVX512 static void name##_avx512 params { name##_body args; }           \
    static void name##_generic params { name##_body args; }                 \
    void name params {                                                      \
        if (kswap_kernels_use_avx512()) name##_avx512 args;                 \
        else name##_generic args;                                           \
    }

INLINE v16 splat(float x) { return (v16){0} + x; }
INLINE v16 load(const float *p) { v16 v; memcpy(&v, p, sizeof v); return v; }
INLINE void store(float *p, v16 v) { memcpy(p, &v, sizeof v); }
// The first n (< 16) floats at p, the other lanes set to pad.
INLINE v16 load_tail(const float *p, long n, float pad) {
    float t[16];
    for (int i = 0; i < 16; i++) t[i] = pad;
    memcpy(t, p, (size_t)n * sizeof(float));
    return load(t);
}
INLINE void store_tail(float *p, v16 v, long n) {
    float t[16];
    store(t, v);
    memcpy(p, t, (size_t)n * sizeof(float));
}
INLINE v16 vselect(v16i mask, v16 a, v16 b) { return (v16)((mask & (v16i)a) | (~mask & (v16i)b)); }
INLINE v16 vmax(v16 a, v16 b) { return vselect(a > b, a, b); }
INLINE v16 vmin(v16 a, v16 b) { return vselect(a < b, a, b); }
INLINE v16 vabs(v16 a) { return (v16)((v16i)a & 0x7FFFFFFF); }
// Sums of the 16 lanes in a fixed tree order, so results never depend on where a row was computed.
INLINE float hsum(v16 v) {
    float t[16];
    store(t, v);
    for (int w = 8; w >= 1; w /= 2)
        for (int i = 0; i < w; i++) t[i] += t[i + w];
    return t[0];
}
INLINE float hmax(v16 v) {
    float t[16];
    store(t, v);
    float m = t[0];
    for (int i = 1; i < 16; i++) m = t[i] > m ? t[i] : m;
    return m;
}

// e^x; 0 below -87.3, clamped at 88.7.
INLINE v16 vexp(v16 x) {
    v16 xc = vmin(vmax(x, splat(-87.33654f)), splat(88.72283f));
    const float shifter = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
    v16 t = xc * 1.442695041f + shifter;
    v16 n = t - shifter;
    v16 r = xc - n * 0.693145752f;
    r = r - n * 1.428606765e-6f;
    v16 p = splat(1.0f / 720);
    p = p * r + 1.0f / 120;
    p = p * r + 1.0f / 24;
    p = p * r + 1.0f / 6;
    p = p * r + 0.5f;
    p = p * r + 1;
    p = p * r + 1;
    // 2^n from exponent bits, split in two factors so each stays a normal float.
    v16i ni = (v16i)t - 0x4B400000;
    v16i half = ni >> 1;
    v16 s1 = (v16)((half + 127) << 23), s2 = (v16)((ni - half + 127) << 23);
    return vselect(x < -87.33654f, splat(0), p * s1 * s2);
}

// erf(x) and e^(-x^2) (GELU's backward needs both; they share the exp).
INLINE v16 verf(v16 x, v16 *gaussian) {
    v16 a = vabs(x);
    v16 t = 1 / (1 + 0.3275911f * a);
    v16 p = splat(1.061405429f);
    p = p * t - 1.453152027f;
    p = p * t + 1.421413741f;
    p = p * t - 0.284496736f;
    p = p * t + 0.254829592f;
    v16 g = vexp(-(a * a));
    if (gaussian) *gaussian = g;
    v16 y = 1 - p * t * g;
    return (v16)(((v16i)y & 0x7FFFFFFF) | ((v16i)x & (int)0x80000000));
}

INLINE v16 vgelu(v16 z) { return 0.5f * z * (1 + verf(z * 0.70710678118654752f, 0)); }

INLINE v16 vgelu_slope(v16 z) {
    v16 g;
    v16 e = verf(z * 0.70710678118654752f, &g);
    return 0.5f * (1 + e) + z * (0.3989422804014327f * g);
}

// MARK: softmax

INLINE void kswap_softmax_rows_body(const float *x, float *y, long rows, long dim) {
    long full = dim / 16 * 16, rest = dim - full;
    for (long r = 0; r < rows; r++) {
        const float *xr = x + r * dim;
        float *yr = y + r * dim;
        v16 mv = splat(-INFINITY);
        for (long i = 0; i < full; i += 16) mv = vmax(mv, load(xr + i));
        if (rest) mv = vmax(mv, load_tail(xr + full, rest, -INFINITY));
        float m = hmax(mv);
        v16 sv = splat(0);
        for (long i = 0; i < full; i += 16) {
            v16 e = vexp(load(xr + i) - m);
            store(yr + i, e);
            sv += e;
        }
        if (rest) {
            v16 e = vexp(load_tail(xr + full, rest, -INFINITY) - m);  // padding lanes give 0
            store_tail(yr + full, e, rest);
            sv += e;
        }
        float inv = 1 / hsum(sv);
        for (long i = 0; i < full; i += 16) store(yr + i, load(yr + i) * inv);
        for (long i = full; i < dim; i++) yr[i] *= inv;
    }
}
DISPATCH(kswap_softmax_rows, (const float *x, float *y, long rows, long dim), (x, y, rows, dim))

INLINE void kswap_softmax_backward_rows_body(const float *y, const float *dy, float *dx, long rows, long dim) {
    long full = dim / 16 * 16, rest = dim - full;
    for (long r = 0; r < rows; r++) {
        const float *yr = y + r * dim, *dyr = dy + r * dim;
        float *dxr = dx + r * dim;
        v16 sv = splat(0);
        for (long i = 0; i < full; i += 16) sv += load(yr + i) * load(dyr + i);
        if (rest) sv += load_tail(yr + full, rest, 0) * load_tail(dyr + full, rest, 0);
        float s = hsum(sv);
        for (long i = 0; i < full; i += 16) store(dxr + i, load(yr + i) * (load(dyr + i) - s));
        if (rest) store_tail(dxr + full, load_tail(yr + full, rest, 0) * (load_tail(dyr + full, rest, 0) - s), rest);
    }
}
DISPATCH(kswap_softmax_backward_rows, (const float *y, const float *dy, float *dx, long rows, long dim),
         (y, dy, dx, rows, dim))

// MARK: GELU

INLINE void kswap_gelu_rows_body(const float *x, const float *bias, float *z, float *y, long rows, long dim) {
    long full = dim / 16 * 16, rest = dim - full;
    for (long r = 0; r < rows; r++) {
        const float *xr = x + r * dim;
        float *zr = z + r * dim, *yr = y + r * dim;
        for (long i = 0; i < full; i += 16) {
            v16 v = load(xr + i);
            if (bias) v += load(bias + i);
            store(zr + i, v);
            store(yr + i, vgelu(v));
        }
        if (rest) {
            v16 v = load_tail(xr + full, rest, 0);
            if (bias) v += load_tail(bias + full, rest, 0);
            store_tail(zr + full, v, rest);
            store_tail(yr + full, vgelu(v), rest);
        }
    }
}
DISPATCH(kswap_gelu_rows, (const float *x, const float *bias, float *z, float *y, long rows, long dim),
         (x, bias, z, y, rows, dim))

INLINE void kswap_gelu_backward_body(const float *dy, const float *z, float *dz, long count) {
    long full = count / 16 * 16, rest = count - full;
    for (long i = 0; i < full; i += 16) store(dz + i, load(dy + i) * vgelu_slope(load(z + i)));
    if (rest) store_tail(dz + full, load_tail(dy + full, rest, 0) * vgelu_slope(load_tail(z + full, rest, 0)), rest);
}
DISPATCH(kswap_gelu_backward, (const float *dy, const float *z, float *dz, long count), (dy, z, dz, count))

// MARK: LayerNorm

INLINE void kswap_layernorm_rows_body(const float *x, const float *gamma, const float *beta, float *y, float *mean,
                                      float *rstd, long rows, long dim, float eps) {
    long full = dim / 16 * 16, rest = dim - full;
    for (long r = 0; r < rows; r++) {
        const float *xr = x + r * dim;
        float *yr = y + r * dim;
        v16 sv = splat(0);
        for (long i = 0; i < full; i += 16) sv += load(xr + i);
        if (rest) sv += load_tail(xr + full, rest, 0);
        float m = hsum(sv) / (float)dim;
        v16 vv = splat(0);
        for (long i = 0; i < full; i += 16) { v16 d = load(xr + i) - m; vv += d * d; }
        if (rest) { v16 d = load_tail(xr + full, rest, m) - m; vv += d * d; }
        float rs = 1 / sqrtf(hsum(vv) / (float)dim + eps);
        for (long i = 0; i < full; i += 16)
            store(yr + i, (load(xr + i) - m) * rs * load(gamma + i) + load(beta + i));
        if (rest)
            store_tail(yr + full, (load_tail(xr + full, rest, 0) - m) * rs * load_tail(gamma + full, rest, 0)
                                      + load_tail(beta + full, rest, 0), rest);
        mean[r] = m;
        rstd[r] = rs;
    }
}
DISPATCH(kswap_layernorm_rows,
         (const float *x, const float *gamma, const float *beta, float *y, float *mean, float *rstd, long rows,
          long dim, float eps),
         (x, gamma, beta, y, mean, rstd, rows, dim, eps))

INLINE void kswap_layernorm_backward_rows_body(const float *dy, const float *x, const float *gamma, const float *mean,
                                               const float *rstd, float *dx, long rows, long dim) {
    long full = dim / 16 * 16, rest = dim - full;
    for (long r = 0; r < rows; r++) {
        const float *xr = x + r * dim, *dyr = dy + r * dim;
        float *dxr = dx + r * dim;
        float m = mean[r], rs = rstd[r];
        v16 sg = splat(0), sgx = splat(0);
        for (long i = 0; i < full; i += 16) {
            v16 g = load(dyr + i) * load(gamma + i);
            sg += g;
            sgx += g * ((load(xr + i) - m) * rs);
        }
        if (rest) {
            v16 g = load_tail(dyr + full, rest, 0) * load_tail(gamma + full, rest, 0);
            sg += g;
            sgx += g * ((load_tail(xr + full, rest, m) - m) * rs);
        }
        float mg = hsum(sg) / (float)dim, mgx = hsum(sgx) / (float)dim;
        for (long i = 0; i < full; i += 16) {
            v16 xh = (load(xr + i) - m) * rs;
            store(dxr + i, load(dxr + i) + rs * (load(dyr + i) * load(gamma + i) - mg - xh * mgx));
        }
        if (rest) {
            v16 xh = (load_tail(xr + full, rest, m) - m) * rs;
            v16 g = load_tail(dyr + full, rest, 0) * load_tail(gamma + full, rest, 0);
            store_tail(dxr + full, load_tail(dxr + full, rest, 0) + rs * (g - mg - xh * mgx), rest);
        }
    }
}
DISPATCH(kswap_layernorm_backward_rows,
         (const float *dy, const float *x, const float *gamma, const float *mean, const float *rstd, float *dx,
          long rows, long dim),
         (dy, x, gamma, mean, rstd, dx, rows, dim))

// MARK: dropout

typedef unsigned long long v8u64 __attribute__((vector_size(64)));
typedef unsigned int v16u __attribute__((vector_size(64)));

// SplitMix64 outputs `first_output` ..< first_output + 8 of the generator seeded with `key`, as 16
// 32-bit draws: lane 2k holds the low half of output k, lane 2k + 1 the high half (little-endian).
INLINE v16u splitmix_draws(unsigned long long key, unsigned long long first_output) {
    v8u64 z = key + ((v8u64){1, 2, 3, 4, 5, 6, 7, 8} + first_output) * 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z = z ^ (z >> 31);
    v16u u;
    memcpy(&u, &z, sizeof u);
    return u;
}

INLINE void kswap_dropout_body(const float *x, float *y, long count, unsigned long long key, long first,
                               unsigned int threshold, float scale) {
    long full = count / 16 * 16, rest = count - full;
    for (long i = 0; i < full; i += 16) {
        v16i keep = (v16i)(splitmix_draws(key, (unsigned long long)(first + i) / 2) >= threshold);
        store(y + i, vselect(keep, load(x + i) * scale, splat(0)));
    }
    if (rest) {
        v16i keep = (v16i)(splitmix_draws(key, (unsigned long long)(first + full) / 2) >= threshold);
        store_tail(y + full, vselect(keep, load_tail(x + full, rest, 0) * scale, splat(0)), rest);
    }
}
DISPATCH(kswap_dropout,
         (const float *x, float *y, long count, unsigned long long key, long first, unsigned int threshold,
          float scale),
         (x, y, count, key, first, threshold, scale))

// MARK: for tests

INLINE void kswap_exp_body(const float *x, float *y, long count) {
    long full = count / 16 * 16, rest = count - full;
    for (long i = 0; i < full; i += 16) store(y + i, vexp(load(x + i)));
    if (rest) store_tail(y + full, vexp(load_tail(x + full, rest, 0)), rest);
}
DISPATCH(kswap_exp, (const float *x, float *y, long count), (x, y, count))

INLINE void kswap_erf_body(const float *x, float *y, long count) {
    long full = count / 16 * 16, rest = count - full;
    for (long i = 0; i < full; i += 16) store(y + i, verf(load(x + i), 0));
    if (rest) store_tail(y + full, verf(load_tail(x + full, rest, 0), 0), rest);
}
DISPATCH(kswap_erf, (const float *x, float *y, long count), (x, y, count))
