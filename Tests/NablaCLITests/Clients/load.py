"""Concurrent clients against a running `nabla serve`, checking every response's values.

Usage: load.py PORT MODEL inputs.npy expected.npy CLIENTS REQUESTS_PER_CLIENT
Each request takes 1 to 3 consecutive examples (binary or JSON, alternately); prints a JSON summary.
"""
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import tritonclient.http as http

port, name = sys.argv[1], sys.argv[2]
x, expected = np.load(sys.argv[3]), np.load(sys.argv[4])
clients, per_client = int(sys.argv[5]), int(sys.argv[6])


def run(worker):
    client = http.InferenceServerClient(f"127.0.0.1:{port}", connection_timeout=60, network_timeout=120)
    rng = np.random.default_rng(worker)
    rows = 0
    for i in range(per_client):
        n = int(rng.integers(1, 4))
        start = int(rng.integers(0, len(x) - n + 1))
        binary = (i + worker) % 2 == 0
        tensor = http.InferInput("input", [n, 28, 28, 1], "UINT8")
        tensor.set_data_from_numpy(x[start:start + n], binary_data=binary)
        y = client.infer(name, [tensor], outputs=[http.InferRequestedOutput("output", binary_data=binary)]).as_numpy("output")
        if not np.allclose(y, expected[start:start + n], rtol=1e-4, atol=1e-6):
            raise SystemExit(f"FAILED: client {worker} request {i}: wrong values")
        rows += n
    return rows


start = time.time()
with ThreadPoolExecutor(clients) as pool:
    rows = sum(pool.map(run, range(clients)))
print(json.dumps({"requests": clients * per_client, "examples": rows, "seconds": round(time.time() - start, 2)}))
