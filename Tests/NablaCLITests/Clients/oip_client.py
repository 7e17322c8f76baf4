"""Checks a running `nabla serve` with the official Triton client (tritonclient[http]).

Usage: oip_client.py PORT MODEL inputs.npy expected.npy class_names.json
inputs.npy holds uint8 images [N, 28, 28, 1]; expected.npy the model's outputs for them,
computed in-process by the test. Exits non-zero on the first failed check; prints a JSON summary.
"""
import json
import sys

import numpy as np
import tritonclient.http as http

port, name = sys.argv[1], sys.argv[2]
x = np.load(sys.argv[3])
expected = np.load(sys.argv[4])
labels = json.load(open(sys.argv[5]))
client = http.InferenceServerClient(f"127.0.0.1:{port}")
checks = []


def check(condition, what):
    if not condition:
        raise SystemExit(f"FAILED: {what}")
    checks.append(what)


check(client.is_server_live(), "server live")
check(client.is_server_ready(), "server ready")
check(client.is_model_ready(name), "model ready")
check(client.is_model_ready(name, "1"), "model version 1 ready")
server = client.get_server_metadata()
check(server["name"] == "nabla" and {"binary_tensor_data", "classification"} <= set(server["extensions"]),
      "server metadata lists the extensions")
meta = client.get_model_metadata(name)
check(meta["inputs"] == [{"name": "input", "datatype": "UINT8", "shape": [-1, 28, 28, 1]}], "input metadata")
check(meta["outputs"] == [{"name": "output", "datatype": "FP32", "shape": [-1, 10]}], "output metadata")
check(client.get_model_metadata(name, "1")["name"] == name, "versioned metadata")


def infer(batch, datatype, binary_in, binary_out, class_count=0, outputs=True, request_id=""):
    data = batch.astype({"FP32": np.float32, "UINT8": np.uint8, "INT64": np.int64}[datatype])
    tensor = http.InferInput("input", list(data.shape), datatype)
    tensor.set_data_from_numpy(data, binary_data=binary_in)
    requested = [http.InferRequestedOutput("output", binary_data=binary_out, class_count=class_count)] if outputs else None
    return client.infer(name, [tensor], outputs=requested, request_id=request_id)


for datatype in ["FP32", "UINT8", "INT64"]:
    for binary_in in [False, True]:
        for binary_out in [False, True]:
            result = infer(x[:3], datatype, binary_in, binary_out, request_id="r-42")
            y = result.as_numpy("output")
            check(y.shape == (3, 10) and np.allclose(y, expected[:3], rtol=1e-4, atol=1e-6),
                  f"infer {datatype} in={'binary' if binary_in else 'json'} out={'binary' if binary_out else 'json'}")
            check(result.get_response()["id"] == "r-42", "id echoed")

y = infer(x[3:5], "UINT8", True, True, outputs=False).as_numpy("output")
check(np.allclose(y, expected[3:5], rtol=1e-4, atol=1e-6), "no outputs named: all returned in binary")

for binary_out in [False, True]:
    strings = infer(x[:4], "UINT8", True, binary_out, class_count=3).as_numpy("output")
    check(strings.shape == (4, 3), "classification shape")
    for row in range(4):
        order = np.argsort(-expected[row], kind="stable")[:3]
        for k in range(3):
            s = strings[row, k]
            s = s.decode() if isinstance(s, bytes) else s
            score, index, label = s.split(":", 2)
            check(int(index) == order[k] and label == labels[order[k]]
                  and abs(float(score) - expected[row, order[k]]) <= 1e-5,
                  f"classification {'binary' if binary_out else 'json'} row {row} rank {k}")

# The whole set in one request.
y = infer(x, "UINT8", True, True).as_numpy("output")
check(np.allclose(y, expected, rtol=1e-4, atol=1e-6), f"one request of {len(x)} examples")
print(json.dumps({"checks": len(checks)}))
