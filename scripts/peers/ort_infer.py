"""ONNX Runtime peer of `nabla-bench infer`: the same mnist_cnn (exported by nabla), intra-op
threads as given, every graph optimisation on; batch-1 latency over 2000 calls after 200 warm-up
calls, and batch-256 throughput (median of 10). Prints one JSON line."""
import sys, time, numpy as np, onnxruntime as ort
path = sys.argv[1]
o = ort.SessionOptions(); o.intra_op_num_threads = int(sys.argv[2]); o.inter_op_num_threads = 1
o.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
s = ort.InferenceSession(path, o, providers=['CPUExecutionProvider'])
name = s.get_inputs()[0].name
dt = np.uint8 if 'uint8' in s.get_inputs()[0].type else np.float32
one = (np.random.rand(1, 28, 28, 1) * 255).astype(dt)
for _ in range(200): s.run(None, {name: one})
lat = []
for _ in range(2000):
    t = time.perf_counter(); s.run(None, {name: one}); lat.append((time.perf_counter() - t) * 1e3)
lat.sort()
b = (np.random.rand(256, 28, 28, 1) * 255).astype(dt)
for _ in range(2): s.run(None, {name: b})
ts = []
for _ in range(10):
    t = time.perf_counter(); s.run(None, {name: b}); ts.append(time.perf_counter() - t)
ts.sort()
print('{"case":"ort_infer_mnist_cnn","batch1_p50_ms":%.3f,"batch1_p99_ms":%.3f,"batch256_images_per_s":%.1f}' % (lat[len(lat)//2], lat[len(lat)*99//100], 256/ts[len(ts)//2]))
