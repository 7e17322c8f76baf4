#!/usr/bin/env bash
# The full Fashion-MNIST runs behind the accuracy figures in the README (release build).
#   mnist-cnn:    the Keras mnist_cnn, Adam 1e-3, batch 128, 12 epochs   (target ≥ 91.5% test accuracy)
#   mnist-cnn-bn: batch normalisation + crop/flip augmentation, cosine learning-rate decay, 20 epochs (target ≥ 93.5%)
# Each run prints per-epoch lines, the test metrics, and (from GNU time) its peak memory.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product nabla
which="${1:-all}"
run() {
    echo "== nabla train $*"
    if [ -x /usr/bin/time ]; then /usr/bin/time -f "peak memory: %M KB, wall %e s" .build/release/nabla train "$@"
    else .build/release/nabla train "$@"; fi
}
if [ "$which" = all ] || [ "$which" = mnist-cnn ]; then
    run --model mnist-cnn --epochs 12 --batch-size 128 --learning-rate 0.001 --seed 42 --min-accuracy 0.915
fi
if [ "$which" = all ] || [ "$which" = mnist-cnn-bn ]; then
    run --model mnist-cnn-bn --epochs 20 --batch-size 128 --learning-rate 0.001 --schedule cosine --seed 42 --min-accuracy 0.935
fi
