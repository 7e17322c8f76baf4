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

void nbl_adam_step(float *p, const float *g, float *m, float *v, long n, float lr, float beta1, float beta2,
                   float epsilon, long step, float weightDecay) {
    // Bias corrections of Kingma & Ba, Algorithm 1 (https://arxiv.org/abs/1412.6980).
    float c1 = 1 - powf(beta1, (float)step), c2 = 1 - powf(beta2, (float)step);
    for (long i = 0; i < n; i++) {
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
