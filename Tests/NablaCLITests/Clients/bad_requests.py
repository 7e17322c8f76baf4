"""Sends hostile and malformed requests to a running `nabla serve` over plain HTTP.

Usage: bad_requests.py PORT MODEL
Every case must get a 4xx with a JSON {"error": ...} body, and after each the server must still
answer a good request. Prints each case's status and error as JSON lines.
"""
import http.client
import json
import struct
import sys
import zlib

port, name = int(sys.argv[1]), sys.argv[2]
good = json.dumps({"inputs": [{"name": "input", "shape": [1, 28, 28, 1], "datatype": "UINT8",
                               "data": [0] * 784}]}).encode()


def send(method, path, body=b"", headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, data


def request(shape=(1, 28, 28, 1), datatype="UINT8", data=None, name_="input", **extra):
    tensor = {"name": name_, "shape": list(shape), "datatype": datatype,
              "data": [0] * 784 if data is None else data}
    return json.dumps({"inputs": [tensor], **extra}).encode()


def binary(json_header, payload):
    header = json.dumps(json_header).encode()
    return header + payload, {"Inference-Header-Content-Length": str(len(header))}


def binary_tensor(size, shape=(1, 28, 28, 1), datatype="FP32"):
    return {"inputs": [{"name": "input", "shape": list(shape), "datatype": datatype,
                        "parameters": {"binary_data_size": size}}]}


def png_header(width, height):
    """A PNG whose header declares width x height grey pixels (a decompression bomb's first bytes)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    idat = zlib.compress(b"\0" * 1000)
    return (b"\x89PNG\r\n\x1a\n" + chunk + struct.pack(">I", len(idat)) + b"IDAT" + idat
            + struct.pack(">I", zlib.crc32(b"IDAT" + idat)))


infer = f"/v2/models/{name}/infer"
nan = struct.pack("<784f", *([float("nan")] + [0.0] * 783))
cases = [
    ("unknown model", "POST", "/v2/models/nope/infer", good, {}),
    ("unknown version", "POST", f"/v2/models/{name}/versions/7/infer", good, {}),
    ("unknown model metadata", "GET", "/v2/models/nope", b"", {}),
    ("unknown route", "GET", "/v3/nothing", b"", {}),
    ("malformed JSON", "POST", infer, b'{"inputs": [', {}),
    ("JSON not an object", "POST", infer, b"[1, 2, 3]", {}),
    ("no inputs", "POST", infer, b"{}", {}),
    ("unknown input name", "POST", infer, request(name_="pixels"), {}),
    ("wrong shape", "POST", infer, request(shape=(1, 28, 27, 1)), {}),
    ("wrong rank", "POST", infer, request(shape=(784,)), {}),
    ("zero batch", "POST", infer, request(shape=(0, 28, 28, 1), data=[]), {}),
    ("negative batch", "POST", infer, request(shape=(-3, 28, 28, 1)), {}),
    ("huge batch", "POST", infer, request(shape=(2 ** 62, 28, 28, 1)), {}),
    ("unsupported datatype", "POST", infer, request(datatype="FP16"), {}),
    ("too few values", "POST", infer, request(data=[0] * 783), {}),
    ("too many values", "POST", infer, request(data=[0] * 785), {}),
    ("value not a number", "POST", infer, request(data=["a"] * 784), {}),
    ("UINT8 out of range", "POST", infer, request(data=[256] * 784), {}),
    ("nested too deeply", "POST", infer, request(data=[[[[[[[[[[[0]]]]]]]]]]]), {}),
    ("unknown output", "POST", infer, request(outputs=[{"name": "probabilities"}]), {}),
    ("classification out of range", "POST", infer,
     request(outputs=[{"name": "output", "parameters": {"classification": 11}}]), {}),
    ("binary too few bytes", "POST", infer, *binary(binary_tensor(3136), b"\0" * 3135)),
    ("binary too many bytes", "POST", infer, *binary(binary_tensor(3136), b"\0" * 3137)),
    ("binary size disagrees with shape", "POST", infer, *binary(binary_tensor(3000), b"\0" * 3000)),
    ("binary NaN", "POST", infer, *binary(binary_tensor(3136), nan)),
    ("header length beyond body", "POST", infer, good, {"Inference-Header-Content-Length": "999999"}),
    ("header length not a number", "POST", infer, good, {"Inference-Header-Content-Length": "ten"}),
    ("wrong content type", "POST", infer, good, {"Content-Type": "text/csv"}),
    ("oversized body", "POST", infer, b"{" + b" " * (3 << 20) + b"}", {}),
    ("corrupt image", "POST", f"/v2/models/{name}/classify", b"\x89PNG\r\n\x1a\n" + b"\x07" * 200, {}),
    ("image declaring 144M pixels", "POST", f"/v2/models/{name}/classify", png_header(12000, 12000), {}),
    ("not an image", "POST", f"/v2/models/{name}/classify", b"hello", {}),
    ("bad top_k", "POST", f"/v2/models/{name}/classify?top_k=-1", b"", {}),
]
results = []
for what, method, path, body, headers in cases:
    status, data = send(method, path, body, headers)
    try:
        error = json.loads(data)["error"]
    except Exception:
        raise SystemExit(f"FAILED: {what}: status {status}, body is not a JSON error: {data[:200]!r}")
    if not 400 <= status < 500:
        raise SystemExit(f"FAILED: {what}: status {status} ({error})")
    status_after, _ = send("POST", infer, good)
    if status_after != 200:
        raise SystemExit(f"FAILED: after '{what}' a good request got {status_after}")
    results.append({"case": what, "status": status, "error": error})
for r in results:
    print(json.dumps(r))
