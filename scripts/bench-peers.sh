#!/usr/bin/env bash
# Measures Nabla against its peers on this machine, alternately, in one run (not part of CI):
#   - mnist_cnn and the Keras mnist_mlp training (Adam 1e-3, batch 128, 6,400 Fashion-MNIST
#     images after a 640-image warm-up) against PyTorch;
#   - mnist_cnn inference (batch-1 latency, batch-256 throughput) against ONNX Runtime with every
#     graph optimisation on.
# Every program gets the same thread count. Peers run as their users run them, never tuned down.
# Prints each measurement as a JSON line, then the median ratio of each case over the rounds.
#
# Usage: scripts/bench-peers.sh [ROUNDS] [THREADS]   (defaults: 3 rounds, 2 threads)
# PyTorch and ONNX Runtime are installed from PyPI into a virtual environment outside the
# repository ($NABLA_PEERS_VENV, default ~/.cache/nabla-peers). Needs Debian's dataset-fashion-mnist.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
threads=${2:-2}
venv=${NABLA_PEERS_VENV:-$HOME/.cache/nabla-peers}
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import torch, onnxruntime, numpy" 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q torch onnxruntime numpy
fi
swift build -c release --product nabla >&2
swift build -c release --product nabla-bench >&2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The inference model: mnist_cnn as nabla writes it (its weights do not change the timing).
.build/release/nabla train --model mnist-cnn --epochs 1 --limit 256 --output "$work/run" >/dev/null
.build/release/nabla export "$work/run/model.nabla" --onnx "$work/cnn.onnx" >/dev/null
results="$work/results.jsonl"
for round in $(seq "$rounds"); do
    echo "== round $round of $rounds" >&2
    NABLA_NUM_THREADS=$threads .build/release/nabla-bench train | tee -a "$results"
    "$venv/bin/python" scripts/peers/torch_train.py cnn "$threads" | tee -a "$results"
    NABLA_NUM_THREADS=$threads .build/release/nabla-bench train-mlp | tee -a "$results"
    "$venv/bin/python" scripts/peers/torch_train.py mlp "$threads" | tee -a "$results"
    NABLA_NUM_THREADS=$threads .build/release/nabla-bench infer | tee -a "$results"
    "$venv/bin/python" scripts/peers/ort_infer.py "$work/cnn.onnx" "$threads" | tee -a "$results"
done
"$venv/bin/python" - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def values(case, key):
    return [r[key] for r in rows if r["case"] == case]
def ratio(name, ours, theirs, key, higher_is_better=True):
    pairs = list(zip(values(ours, key), values(theirs, key)))
    r = [a / b if higher_is_better else b / a for a, b in pairs]
    print(json.dumps({"ratio": name, "median": round(statistics.median(r), 3), "each": [round(x, 3) for x in r],
                      "nabla": values(ours, key), "peer": values(theirs, key)}))
ratio("mnist_cnn training, samples/s, Nabla / PyTorch", "train_mnist_cnn_fit", "torch_train_cnn", "samples_per_s")
ratio("mlp training, samples/s, Nabla / PyTorch", "train_mlp_fit", "torch_train_mlp", "samples_per_s")
ratio("mnist_cnn batch-1 p50 latency, ONNX Runtime / Nabla (above 1: Nabla faster)", "infer_mnist_cnn", "ort_infer_mnist_cnn", "batch1_p50_ms", False)
ratio("mnist_cnn batch-256 images/s, Nabla / ONNX Runtime", "infer_mnist_cnn", "ort_infer_mnist_cnn", "batch256_images_per_s")
ratio("peak RSS training mnist_cnn, PyTorch / Nabla (above 1: Nabla smaller)", "train_mnist_cnn_fit", "torch_train_cnn", "peak_rss_mb", False)
PY
