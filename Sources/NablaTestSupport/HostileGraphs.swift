import Foundation

/// Small ONNX graphs whose sizes come from their own constants and attributes.
///
/// The `onnx` package writes them; each comes with what importing it must give: an error (with
/// a phrase it contains) or an output shape. `HostileGraphSizeTests` imports them in process; `HostileCommandLineTests` runs
/// `nabla import` on them under a memory limit.
public enum HostileGraphs {
    /// Writes the graph of `case` to a path: an input `x` of the case's shape, through the case's nodes, to `y`.
    public static let script = """
        import sys, numpy as np, onnx
        from onnx import helper as h, TensorProto as T, numpy_helper as nh
        case, path = sys.argv[1], sys.argv[2]
        big = 1 << 62
        i64 = lambda name, values: nh.from_array(np.array(values, np.int64), name)
        f32 = lambda name, values: nh.from_array(np.array(values, np.float32), name)
        x4, opset, inits = [None, 1, 4, 4], 17, []
        if case == 'tile':
            x, nodes, inits = [None, 4], [h.make_node('Tile', ['x', 'r'], ['y'])], [i64('r', [big, big])]
        elif case == 'pad':
            x, nodes, inits = [None, 4], [h.make_node('Pad', ['x', 'p'], ['y'])], [i64('p', [0, big, 0, big])]
        elif case == 'split':
            x, opset = [None, 4], 18
            nodes = [h.make_node('Split', ['x'], ['y'], axis=1, num_outputs=1 << 40)]
        elif case == 'slice':
            x = [None, 4]
            nodes = [h.make_node('Slice', ['x', 's', 'e', 'a', 't'], ['y'])]
            inits = [i64('s', [0]), i64('e', [4]), i64('a', [1]), i64('t', [(1 << 63) - 1])]
        elif case == 'slice-back':
            x = [None, 4]
            nodes = [h.make_node('Slice', ['x', 's', 'e', 'a', 't'], ['y'])]
            inits = [i64('s', [3]), i64('e', [-5]), i64('a', [1]), i64('t', [-(1 << 63)])]
        elif case == 'convtranspose':
            x = x4
            nodes = [h.make_node('ConvTranspose', ['x', 'w'], ['y'], output_padding=[big, big], strides=[2, 2])]
            inits = [f32('w', np.ones((1, 1, 3, 3)))]
        elif case == 'conv-groups':
            x, nodes, inits = x4, [h.make_node('Conv', ['x', 'w'], ['y'], group=big)], [f32('w', np.ones((1, 1, 3, 3)))]
        elif case == 'conv-pads':
            x = x4
            nodes = [h.make_node('Conv', ['x', 'w'], ['y'], pads=[1 << 24] * 4)]
            inits = [f32('w', np.ones((1, 1, 3, 3)))]
        elif case == 'maxpool-pads':
            x = x4
            nodes = [h.make_node('MaxPool', ['x'], ['y'], kernel_shape=[3, 3], pads=[1 << 24] * 4)]
        elif case == 'avgpool-include-pad':
            x = x4
            nodes = [h.make_node('AveragePool', ['x'], ['y'], kernel_shape=[3, 3], pads=[1 << 24] * 4,
                                 count_include_pad=1)]
        elif case == 'lrn':
            x, nodes = x4, [h.make_node('LRN', ['x'], ['y'], size=(1 << 24) - 1)]
        elif case == 'ints-constant':
            x = [None, 4]
            nodes = [h.make_node('ConstantOfShape', ['s'], ['c'], value=h.make_tensor('v', T.INT64, [1], [1])),
                     h.make_node('Cast', ['c'], ['y'], to=T.FLOAT)]
            inits = [i64('s', [1 << 14, 1 << 14])]
        elif case == 'ints-range':
            x = [None, 4]
            nodes = [h.make_node('Range', ['a', 'b', 'd'], ['r']), h.make_node('Cast', ['r'], ['y'], to=T.FLOAT)]
            inits = [i64('a', 0), i64('b', 1 << 28), i64('d', 1)]
        elif case == 'input-huge':
            x, nodes = [None, 1 << 17, 1 << 17], [h.make_node('Relu', ['x'], ['y'])]
        elif case == 'clip-nan':
            x, opset = [None, 4], 6
            nodes = [h.make_node('Cast', ['x'], ['i'], to=T.INT64), h.make_node('Clip', ['i'], ['c'], min=float('nan')),
                     h.make_node('Cast', ['c'], ['y'], to=T.FLOAT)]
        elif case == 'pad-nan':
            x = [None, 4]
            nodes = [h.make_node('Cast', ['x'], ['i'], to=T.INT64), h.make_node('Pad', ['i', 'p', 'v'], ['c']),
                     h.make_node('Cast', ['c'], ['y'], to=T.FLOAT)]
            inits = [i64('p', [0, 1, 0, 1]), f32('v', float('nan'))]
        graph = h.make_graph(nodes, case, [h.make_tensor_value_info('x', T.FLOAT, x)],
                             [h.make_tensor_value_info('y', T.FLOAT, None)], inits)
        onnx.save(h.make_model(graph, opset_imports=[h.make_opsetid('', opset)]), path)
        print('ok')
        """

    /// Each graph and what its import must say (an error) or give (the output's shape past the batch).
    public static let cases: [(name: String, outcome: String)] = [
        ("tile", "error: overflows"), ("pad", "error: overflows"), ("split", "error: num_outputs"),
        ("slice", "shape: [1]"), ("slice-back", "shape: [1]"), ("convtranspose", "error: output_padding"),
        ("conv-groups", "error: groups"), ("conv-pads", "error: too large"), ("maxpool-pads", "error: too large"),
        ("avgpool-include-pad", "error: too large"), ("lrn", "shape: [1, 4, 4]"),
        ("clip-nan", "error: must be numbers"), ("pad-nan", "error: not a finite integer"),
        ("input-huge", "error: too large (NABLA_MAX_MODEL_VALUES)"),
        ("ints-constant", "error: too large for an integer tensor"),
        ("ints-range", "error: too large for an integer tensor"),
    ]

}
