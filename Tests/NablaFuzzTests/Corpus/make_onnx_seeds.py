"""Writes the ONNX fuzz seeds whose graphs compute sizes while they run.

Each seed is a small valid graph over an input x of shape [N, 4] (or [N, 1, 4, 4]) in which a
size, a count or an index comes from the graph itself: Range, Expand, Tile, Reshape, Resize, Pad,
Slice, ConvTranspose and a Gather whose indices are the input's own values. The fuzzer mutates
their constants and attributes, and each accepted graph runs once on a small input.

Run: python3 Tests/NablaFuzzTests/Corpus/make_onnx_seeds.py   (needs the onnx package)
"""
import os
import numpy as np
import onnx
from onnx import helper as h, TensorProto as T, numpy_helper as nh

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "Seeds")
i64 = lambda name, values: nh.from_array(np.array(values, np.int64), name)
f32 = lambda name, values: nh.from_array(np.array(values, np.float32), name)
x2 = h.make_tensor_value_info("x", T.FLOAT, ["N", 4])
x4 = h.make_tensor_value_info("x", T.FLOAT, ["N", 1, 4, 4])
y = h.make_tensor_value_info("y", T.FLOAT, None)

seeds = {
    "range": (x2, [h.make_node("Shape", ["x"], ["s"]), h.make_node("Gather", ["s", "one"], ["n"], axis=0),
                   h.make_node("Range", ["zero", "n", "one"], ["r"]), h.make_node("Cast", ["r"], ["c"], to=T.FLOAT),
                   h.make_node("Add", ["c", "x"], ["y"])],
              [i64("zero", 0), i64("one", 1)]),
    "expand": (x2, [h.make_node("Expand", ["x", "shape"], ["y"])], [i64("shape", [3, 1, 4])]),
    "tile": (x2, [h.make_node("Tile", ["x", "repeats"], ["y"])], [i64("repeats", [2, 3])]),
    "reshape": (x2, [h.make_node("Shape", ["x"], ["s"]), h.make_node("Concat", ["s", "two"], ["t"], axis=0),
                     h.make_node("Reshape", ["x", "t2"], ["y"])],
                [i64("two", [2]), i64("t2", [-1, 2, 2])]),
    "resize": (x4, [h.make_node("Resize", ["x", "", "scales"], ["y"], mode="linear")],
               [f32("scales", [1, 1, 2, 2])]),
    "pad": (x2, [h.make_node("Pad", ["x", "pads"], ["y"], mode="reflect")], [i64("pads", [0, 2, 0, 2])]),
    "slice": (x2, [h.make_node("Slice", ["x", "starts", "ends", "axes", "steps"], ["y"])],
              [i64("starts", [3]), i64("ends", [-5]), i64("axes", [1]), i64("steps", [-2])]),
    "convtranspose": (x4, [h.make_node("ConvTranspose", ["x", "w"], ["y"], strides=[2, 2], output_padding=[1, 1])],
                      [f32("w", np.ones((1, 2, 3, 3)))]),
    "gather-data": (x2, [h.make_node("Cast", ["x"], ["i"], to=T.INT64), h.make_node("Gather", ["table", "i"], ["g"]),
                         h.make_node("Flatten", ["g"], ["y"])],
                    [f32("table", np.arange(30).reshape(10, 3))]),
}
os.makedirs(here, exist_ok=True)
for name, (x, nodes, inits) in seeds.items():
    model = h.make_model(h.make_graph(nodes, name, [x], [y], inits), opset_imports=[h.make_opsetid("", 17)])
    onnx.save(model, os.path.join(here, f"onnx-{name}.onnx"))
print(f"wrote {len(seeds)} seeds to {here}")
