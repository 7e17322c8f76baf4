// Fused optimizer updates, in place on contiguous float32 arrays of n elements.
//
// One pass per parameter per step: the gradient is read once, the state updated and the parameter
// written, instead of a chain of tensor ops. Weight decay is decoupled (Loshchilov & Hutter,
// https://arxiv.org/abs/1711.05101): p -= lr·wd·p before the update, as Keras 3 applies it.
#include "CNablaKernels.h"

#include <math.h>

void nbl_sgd_step(float *p, const float *g, float *velocity, long n, float lr, float momentum, int nesterov,
                  float weightDecay) {
    for (long i = 0; i < n; i++) {
        if (weightDecay != 0) p[i] -= lr * weightDecay * p[i];
        if (!velocity) {
            p[i] -= lr * g[i];
            continue;
        }
        velocity[i] = momentum * velocity[i] - lr * g[i];
        p[i] += nesterov ? momentum * velocity[i] - lr * g[i] : velocity[i];
    }
}

void nbl_rmsprop_step(float *p, const float *g, float *meanSquare, float *meanGradient, float *velocity, long n,
                      float lr, float rho, float momentum, float epsilon, float weightDecay) {
    for (long i = 0; i < n; i++) {
        if (weightDecay != 0) p[i] -= lr * weightDecay * p[i];
        meanSquare[i] = rho * meanSquare[i] + (1 - rho) * g[i] * g[i];
        float denominator = meanSquare[i];
        if (meanGradient) {
            meanGradient[i] = rho * meanGradient[i] + (1 - rho) * g[i];
            denominator -= meanGradient[i] * meanGradient[i];
        }
        float increment = lr * g[i] / sqrtf(denominator + epsilon);
        if (velocity) {
            velocity[i] = momentum * velocity[i] + increment;
            p[i] -= velocity[i];
        } else {
            p[i] -= increment;
        }
    }
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

// Eight lanes of the scalar loop below, operation for operation (no fused multiply-adds), so the
// results are bit for bit the scalar ones; returns how many elements it did.
__attribute__((target("avx2"))) static long adam_avx2(float *p, const float *g, float *m, float *v, long n, float lr,
                                                      float beta1, float beta2, float epsilon, float c1, float c2,
                                                      float weightDecay) {
    const __m256 b1 = _mm256_set1_ps(beta1), a1 = _mm256_set1_ps(1 - beta1);
    const __m256 b2 = _mm256_set1_ps(beta2), a2 = _mm256_set1_ps(1 - beta2);
    const __m256 rate = _mm256_set1_ps(lr), k1 = _mm256_set1_ps(c1), k2 = _mm256_set1_ps(c2);
    const __m256 eps = _mm256_set1_ps(epsilon), decay = _mm256_set1_ps(lr * weightDecay);
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 pi = _mm256_loadu_ps(p + i), gi = _mm256_loadu_ps(g + i);
        if (weightDecay != 0) pi = _mm256_sub_ps(pi, _mm256_mul_ps(decay, pi));
        __m256 mi = _mm256_add_ps(_mm256_mul_ps(b1, _mm256_loadu_ps(m + i)), _mm256_mul_ps(a1, gi));
        __m256 vi = _mm256_add_ps(_mm256_mul_ps(b2, _mm256_loadu_ps(v + i)), _mm256_mul_ps(_mm256_mul_ps(a2, gi), gi));
        _mm256_storeu_ps(m + i, mi);
        _mm256_storeu_ps(v + i, vi);
        __m256 step = _mm256_mul_ps(rate, _mm256_div_ps(mi, k1));
        __m256 scale = _mm256_add_ps(_mm256_sqrt_ps(_mm256_div_ps(vi, k2)), eps);
        _mm256_storeu_ps(p + i, _mm256_sub_ps(pi, _mm256_div_ps(step, scale)));
    }
    return i;
}
#endif

void nbl_adam_step(float *p, const float *g, float *m, float *v, long n, float lr, float beta1, float beta2,
                   float epsilon, long step, float weightDecay) {
    // Bias corrections of Kingma & Ba, Algorithm 1 (https://arxiv.org/abs/1412.6980).
    float c1 = 1 - powf(beta1, (float)step), c2 = 1 - powf(beta2, (float)step);
    long start = 0;
#if defined(__x86_64__) || defined(__i386__)
    if (nbl_isa_has_avx2(nbl_cpu_best_isa()))
        start = adam_avx2(p, g, m, v, n, lr, beta1, beta2, epsilon, c1, c2, weightDecay);
#endif
    for (long i = start; i < n; i++) {
        if (weightDecay != 0) p[i] -= lr * weightDecay * p[i];
        m[i] = beta1 * m[i] + (1 - beta1) * g[i];
        v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
        p[i] -= lr * (m[i] / c1) / (sqrtf(v[i] / c2) + epsilon);
    }
}

void nbl_adagrad_step(float *p, const float *g, float *accumulator, long n, float lr, float epsilon,
                      float weightDecay) {
    for (long i = 0; i < n; i++) {
        if (weightDecay != 0) p[i] -= lr * weightDecay * p[i];
        accumulator[i] += g[i] * g[i];
        p[i] -= lr * g[i] / sqrtf(accumulator[i] + epsilon);
    }
}
