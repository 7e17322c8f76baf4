import CNablaKernels

// The CPU backend's network primitives: convolution (im2col + packed GEMM, a direct depthwise
// kernel), pooling, softmax, batch normalisation, random numbers, indexing, resampling and the
// fused optimizer updates. Work is cut into chunks of whole images or rows whose size depends only
// on the shapes.

extension WindowGeometry {
    /// The geometry as the C kernels take it.
    var kernel: nbl_conv_geometry {
        nbl_conv_geometry(
            N: batch, H: height, W: width, C: channels, KH: windowHeight, KW: windowWidth, strideH: strideHeight,
            strideW: strideWidth, padTop: padTop, padLeft: padLeft, dilationH: dilationHeight,
            dilationW: dilationWidth, OH: outputHeight, OW: outputWidth)
    }
}

/// The shape-derived quantities of one convolution on the CPU.
private struct ConvolutionPlan {
    let g: nbl_conv_geometry
    let groups: Int
    let K: Int

    init(_ geometry: WindowGeometry, groups: Int, outputChannels: Int) {
        (g, self.groups, K) = (geometry.kernel, groups, outputChannels)
    }

    var rows: Int { g.N * g.OH * g.OW }
    var Cg: Int { g.C / groups }
    var Kg: Int { K / groups }
    var width: Int { g.KH * g.KW * Cg }
    var isDepthwise: Bool { groups == g.C && groups > 1 }
    /// A 1×1, stride-1, unpadded dense convolution is a plain GEMM on the input.
    var isPointwise: Bool {
        groups == 1 && g.KH == 1 && g.KW == 1 && g.strideH == 1 && g.strideW == 1 && g.padTop == 0
            && g.padLeft == 0 && g.OH == g.H && g.OW == g.W
    }
    /// Whether the forward reads window rows in place (`nbl_conv2d_rows_by_kh`).
    ///
    /// One group, rows of KW·C contiguous floats (dilation 1 along W) that fill a micro-kernel's K
    /// block without leaving L1 (32…320 floats), on AVX2+FMA or AVX-512. A property of the layer alone, so
    /// one layer's results never depend on the batch or the threads.
    var readsWindowRowsInPlace: Bool {
        groups == 1 && g.dilationW == 1 && (32...320).contains(g.KW * g.C)
            && nbl_isa_has_avx2(nbl_gemm_isa()) == 1
    }
    /// Whether the forward runs by Winograd F(2×2, 3×3) (`nbl_conv2d_winograd`).
    ///
    /// A 3×3, stride-1, dilation-1 convolution of one group with at least 8 input and output
    /// channels, on AVX2+FMA or AVX-512. A property of the layer alone, as above.
    var usesWinograd: Bool {
        groups == 1 && g.KH == 3 && g.KW == 3 && g.strideH == 1 && g.strideW == 1 && g.dilationH == 1
            && g.dilationW == 1 && g.C >= 8 && K >= 8 && nbl_isa_has_avx2(nbl_gemm_isa()) == 1
    }
    /// Winograd tiles (2×2 output pixels) per image.
    var tilesPerImage: Int { withUnsafePointer(to: g) { nbl_winograd_tiles_per_image($0) } }
    /// Images per backward work chunk: enough to keep an im2col buffer near 512 KiB, at least one.
    var imagesPerChunk: Int {
        let perImage = Swift.max(g.OH * g.OW * width, 1)
        return Swift.max(1, Swift.min(g.N, (1 << 17) / perImage))
    }
}

extension CPUBackend {
    // MARK: Convolution

    // x is (N,H,W,C), w is (KH,KW,C/groups,K), out is (N,OH,OW,K).
    public func conv2d(_ x: Tensor, _ w: Tensor, geometry: WindowGeometry, groups: Int, into out: Tensor) {
        conv2d(x, w, bias: nil, relu: false, geometry: geometry, groups: groups, into: out)
    }

    /// The convolution with its bias and ReLU applied to each block of output rows right after
    /// the block is computed, while it is in cache, instead of in two more passes over memory.
    public func conv2d(
        _ x: Tensor, _ w: Tensor, bias: Tensor?, relu: Bool, geometry: WindowGeometry, groups: Int, into out: Tensor
    ) {
        let plan = ConvolutionPlan(geometry, groups: groups, outputChannels: w.shape[3])
        let g = plan.g
        let (px, pw, po) = (UnsafeSendable(x.cpuFloats), UnsafeSendable(w.cpuFloats), UnsafeSendable(out.cpuFloats))
        let (rows, K) = (plan.rows, plan.K)
        let pb = UnsafeSendable(bias?.cpuFloats)
        let epilogue = bias != nil || relu
        /// Bias and ReLU over output rows `[r0, r0 + n)`.
        func finish(_ r0: Int, _ n: Int) {
            if epilogue { nbl_bias_relu_rows(po.value + r0 * K, n, K, pb.value, relu ? 1 : 0) }
        }
        if plan.isPointwise {
            GEMM.multiply(
                M: rows, N: K, K: g.C, A: px.value, rsA: g.C, csA: 1, B: pw.value, rsB: K, csB: 1, C: po.value, ldc: K)
            if epilogue { ThreadPool.parallelFor(rows, grain: 256) { s, e in finish(s, e - s) } }
            return
        }
        if plan.isDepthwise {
            let multiplier = K / g.C
            ThreadPool.parallelFor(rows, grain: 64) { start, end in
                withUnsafePointer(to: g) { gp in
                    nbl_depthwise_conv_nhwc(gp, px.value, pw.value, multiplier, start, end - start, po.value)
                }
                finish(start, end - start)
            }
            return
        }
        // Row chunks of at most ~512 KiB of im2col, each task its own column buffer and GEMM.
        let width = plan.width
        let (chunkRows, tasks) = Self.forwardChunks(rows: rows, width: width)
        let (cg, kg) = (plan.Cg, plan.Kg)
        if plan.usesWinograd {
            let packed = winogradFilters(w, C: g.C, K: K)
            let pp = UnsafeSendable(UnsafePointer<Float>(packed.cpuFloats))
            defer { withExtendedLifetime(packed) {} }
            let tiles = g.N * plan.tilesPerImage
            let (per, tasks) = Self.winogradChunks(tiles: tiles)
            ThreadPool.forEachTask(tasks) { t in
                let t0 = t * per, n = Swift.min(per, tiles - t0)
                let scratch = winogradScratch(tiles: n, C: g.C, K: K)
                withUnsafePointer(to: g) {
                    nbl_conv2d_winograd(
                        $0, px.value, pp.value, K, t0, n, pb.value, relu ? 1 : 0, po.value, scratch.cpuFloats)
                }
            }
            return
        }
        if plan.readsWindowRowsInPlace {
            // No im2col: each kernel row's filters packed once, and window rows read from x.
            let run = g.KW * g.C
            let packed = packFilterRows(w, geometry: g)
            let pp = UnsafeSendable(UnsafePointer<Float>(packed.cpuFloats))
            defer { withExtendedLifetime(packed) {} }
            ThreadPool.forEachTask(tasks) { t in
                let r0 = t * chunkRows, n = Swift.min(chunkRows, rows - r0)
                let scratch = Tensor(uninitializedShape: [Int(NBL_GEMM_MR) * (run + K)], dtype: .float32, backend: self)
                withUnsafePointer(to: g) {
                    nbl_conv2d_rows_by_kh(
                        $0, px.value, pp.value, K, r0, n, pb.value, relu ? 1 : 0, po.value + r0 * K, scratch.cpuFloats)
                }
            }
            return
        }
        // Each group's filters packed once for every chunk's product.
        let (packed, size) = packFilters(groups: groups, N: kg, K: width, rsB: K, csB: 1) {
            UnsafePointer(pw.value + $0 * kg)
        }
        let pp = UnsafeSendable(UnsafePointer<Float>(packed.cpuFloats))
        defer { withExtendedLifetime(packed) {} }
        ThreadPool.forEachTask(tasks) { t in
            let r0 = t * chunkRows, n = Swift.min(chunkRows, rows - r0)
            let col = Tensor(uninitializedShape: [n, width], dtype: .float32, backend: self)
            for group in 0..<groups {
                withUnsafePointer(to: g) { nbl_im2col_nhwc($0, px.value, group * cg, cg, r0, n, col.cpuFloats) }
                nbl_sgemm_packed(
                    n, kg, width, col.cpuFloats, width, 1, pp.value + group * size,
                    po.value + r0 * K + group * kg, K, 0)
            }
            finish(r0, n)
        }
    }

    /// Rows per forward chunk and the chunk count.
    ///
    /// At most ~512 KiB of im2col per chunk, and, when there are few chunks, a multiple of the
    /// thread count of them, equal in size and whole micro-tiles each, so no thread waits on a
    /// bigger share (a batch of one through mnist_cnn's second convolution: 576 rows were one chunk
    /// of 450 and one of 126). Every output row is computed the same way whatever its chunk, so the
    /// split does not change results.
    static func forwardChunks(rows: Int, width: Int) -> (rows: Int, tasks: Int) {
        let mr = Int(NBL_GEMM_MR)
        let largest = Swift.max(mr, (1 << 17) / Swift.max(width, 1) / mr * mr)
        var tasks = (rows + largest - 1) / largest
        let threads = ThreadPool.threadCount
        if tasks < 4 * threads { tasks = Swift.min((tasks + threads - 1) / threads * threads, (rows + mr - 1) / mr) }
        let per = ((rows + tasks - 1) / tasks + mr - 1) / mr * mr
        return (per, (rows + per - 1) / per)
    }

    /// The filters of each kernel row kh, `(KW·C)×K`, packed for `nbl_conv2d_rows_by_kh`.
    private func packFilterRows(_ w: Tensor, geometry g: nbl_conv_geometry) -> Tensor {
        let (run, K, pw) = (g.KW * g.C, w.shape[3], w.cpuFloats)
        return packFilters(groups: g.KH, N: K, K: run, rsB: K, csB: 1) { UnsafePointer(pw + $0 * run * K) }.buffer
    }

    /// The convolution, then max pooling over windows that tile its output, image by image.
    ///
    /// Each image's convolution goes to a buffer of its task, where the pooling reads it while it
    /// is in cache instead of through memory. For batches of at least two images per thread on the
    /// window-row path; otherwise the two run one after the other. The same bits either way.
    public func conv2dMaxPool(
        _ x: Tensor, _ w: Tensor, bias: Tensor?, relu: Bool, geometry: WindowGeometry, groups: Int,
        pool: WindowGeometry, into out: Tensor
    ) {
        let plan = ConvolutionPlan(geometry, groups: groups, outputChannels: w.shape[3])
        let (g, K, threads) = (plan.g, plan.K, ThreadPool.threadCount)
        guard plan.readsWindowRowsInPlace || plan.usesWinograd, g.N >= 2 * threads else {
            convolveThenPool(x, w, bias: bias, relu: relu, geometry: geometry, groups: groups, pool: pool, into: out)
            return
        }
        let winograd = plan.usesWinograd
        let packed = winograd ? winogradFilters(w, C: g.C, K: K) : packFilterRows(w, geometry: g)
        let (px, pp, po) = (
            UnsafeSendable(x.cpuFloats), UnsafeSendable(packed.cpuFloats), UnsafeSendable(out.cpuFloats)
        )
        let (pb, activation) = (UnsafeSendable(bias?.cpuFloats), Int32(relu ? 1 : 0))
        defer { withExtendedLifetime(packed) {} }
        let (pixels, pooled, run) = (g.OH * g.OW, pool.outputHeight * pool.outputWidth * K, g.KW * g.C)
        var (image, one) = (pool.kernel, g)  // the pooling and the convolution of one image
        (image.N, one.N) = (1, 1)
        ThreadPool.forEachTask(g.N) { n in
            let conv = Tensor(uninitializedShape: [pixels * K], dtype: .float32, backend: self)
            if winograd {
                inWinogradChunks(one, channels: (g.C, K)) { geometry, t0, count, scratch in
                    nbl_conv2d_winograd(
                        geometry, px.value + n * g.H * g.W * g.C, pp.value, K, t0, count, pb.value, activation,
                        conv.cpuFloats, scratch)
                }
            } else {
                let scratch = Tensor(uninitializedShape: [Int(NBL_GEMM_MR) * (run + K)], dtype: .float32, backend: self)
                withUnsafePointer(to: g) {
                    nbl_conv2d_rows_by_kh(
                        $0, px.value, pp.value, K, n * pixels, pixels, pb.value, activation, conv.cpuFloats,
                        scratch.cpuFloats)
                }
            }
            withUnsafePointer(to: image) { nbl_maxpool_nhwc($0, conv.cpuFloats, 0, 1, po.value + n * pooled, nil) }
        }
    }

    /// The 16 Winograd-transformed filters (`nbl_winograd_filter`), each packed for the GEMM; at
    /// inference (nothing recorded), kept from call to call for the same weights.
    private func winogradFilters(_ w: Tensor, C: Int, K: Int) -> Tensor {
        if GradientMode.isEnabled { return transformedFilters(w, C: C, K: K) }
        return winogradFilterCache.packed(w.cpuFloats, shape: [3, 3, C, K]) { transformedFilters(w, C: C, K: K) }
    }

    private func transformedFilters(_ w: Tensor, C: Int, K: Int) -> Tensor {
        let u = Tensor(uninitializedShape: [16 * C * K], dtype: .float32, backend: self)
        nbl_winograd_filter(w.cpuFloats, C, K, u.cpuFloats)
        defer { withExtendedLifetime(u) {} }
        return packFilters(groups: 16, N: K, K: C, rsB: K, csB: 1) { UnsafePointer(u.cpuFloats + $0 * C * K) }.buffer
    }

    /// The 3×3 filters (3,3,C,K) turned by 180° and transposed to (3,3,K,C): the convolution of
    /// dOut with them is the input gradient of a stride-1 convolution.
    private func flippedFilters(_ w: UnsafeMutablePointer<Float>, C: Int, K: Int) -> Tensor {
        let out = Tensor(uninitializedShape: [3, 3, K, C], dtype: .float32, backend: self)
        let o = out.cpuFloats
        for tap in 0..<9 {
            let from = w + (8 - tap) * C * K, to = o + tap * K * C
            for c in 0..<C { for k in 0..<K { to[k * C + c] = from[c * K + k] } }
        }
        return out
    }

    private func winogradScratch(tiles: Int, C: Int, K: Int) -> Tensor {
        Tensor(uninitializedShape: [nbl_winograd_scratch_size(tiles, C, K)], dtype: .float32, backend: self)
    }

    /// Runs `body(geometry, t0, count, scratch)` over all the Winograd tiles of `geometry` on the
    /// calling thread, in as few chunks of at most 64 tiles as can be, equal in size, with one
    /// scratch buffer for the (input, output) channels given.
    private func inWinogradChunks(
        _ geometry: nbl_conv_geometry, channels: (Int, Int),
        _ body: (UnsafePointer<nbl_conv_geometry>, Int, Int, UnsafeMutablePointer<Float>) -> Void
    ) {
        let tiles = geometry.N * withUnsafePointer(to: geometry) { nbl_winograd_tiles_per_image($0) }
        guard tiles > 0 else { return }
        let parts = (tiles + 63) / 64, chunk = (tiles + parts - 1) / parts
        let scratch = winogradScratch(tiles: chunk, C: channels.0, K: channels.1)
        withUnsafePointer(to: geometry) { g in
            for t0 in stride(from: 0, to: tiles, by: chunk) {
                body(g, t0, Swift.min(chunk, tiles - t0), scratch.cpuFloats)
            }
        }
        withExtendedLifetime(scratch) {}
    }

    /// Tiles per Winograd chunk and the chunk count: at most 64 tiles a chunk (its transforms then
    /// stay in L2), and a multiple of the thread count of chunks, equal in size.
    static func winogradChunks(tiles: Int) -> (tiles: Int, tasks: Int) {
        let threads = ThreadPool.threadCount
        let tasks = ((tiles + 63) / 64 + threads - 1) / threads * threads
        let per = (tiles + tasks - 1) / tasks
        return (per, (tiles + per - 1) / per)
    }

    /// Each group's `K×N` filter matrix, `B(group)[k*rsB + j*csB]`, packed for `nbl_sgemm_packed`:
    /// group `g`'s at `g * size` floats into `buffer`.
    private func packFilters(
        groups: Int, N: Int, K: Int, rsB: Int, csB: Int, _ B: (Int) -> UnsafePointer<Float>
    ) -> (buffer: Tensor, size: Int) {
        let size = nbl_sgemm_packed_size(N, K)
        let buffer = Tensor(uninitializedShape: [Swift.max(groups * size, 1)], dtype: .float32, backend: self)
        for group in 0..<groups { nbl_sgemm_pack(N, K, B(group), rsB, csB, buffer.cpuFloats + group * size) }
        return (buffer, size)
    }

    public func conv2dBackwardData(
        _ gradient: Tensor, _ w: Tensor, geometry: WindowGeometry, groups: Int, into dx: Tensor
    ) {
        convolutionBackward(x: nil, w: w, gradient: gradient, geometry: geometry, groups: groups, dx: dx, dw: nil)
    }

    public func conv2dBackwardFilter(
        _ x: Tensor, _ gradient: Tensor, geometry: WindowGeometry, groups: Int, into dw: Tensor
    ) {
        convolutionBackward(x: x, w: nil, gradient: gradient, geometry: geometry, groups: groups, dx: nil, dw: dw)
    }

    /// All gradients in one pass over the output gradient: each chunk of images is masked by the
    /// ReLU and summed for the bias in cache, and unfolded once, its column buffer serving the
    /// filter gradient and then the input gradient.
    public func conv2dBackward(
        _ x: Tensor, _ w: Tensor, gradient: Tensor, reluOutput: Tensor?, geometry: WindowGeometry, groups: Int,
        dx: Tensor?, dw: Tensor?, dbias: Tensor?
    ) {
        convolutionBackward(
            x: x, w: w, gradient: gradient, geometry: geometry, groups: groups, dx: dx, dw: dw, reluOutput: reluOutput,
            dbias: dbias)
    }

    /// The convolution backward for whichever of `dx` (zero-filled, needs `w`), `dw` (overwritten,
    /// needs `x`) and `dbias` are given, on `gradient` masked by `reluOutput` when given.
    private func convolutionBackward(
        x: Tensor?, w: Tensor?, gradient: Tensor, geometry: WindowGeometry, groups: Int, dx: Tensor?, dw: Tensor?,
        reluOutput: Tensor? = nil, dbias: Tensor? = nil
    ) {
        guard let K = dw?.shape[3] ?? w?.shape[3] else { return }
        let plan = ConvolutionPlan(geometry, groups: groups, outputChannels: K)
        let g = plan.g
        if (reluOutput != nil || dbias != nil) && (plan.isPointwise || plan.isDepthwise), let x, let w {
            // These paths read the whole gradient at once: mask and sum it in one pass first.
            let masked = Tensor(uninitializedShape: gradient.shape, dtype: .float32, backend: self)
            nbl_mask_and_sum_rows(
                gradient.cpuFloats, reluOutput?.cpuFloats, plan.rows, K, masked.cpuFloats, dbias?.cpuFloats)
            return convolutionBackward(x: x, w: w, gradient: masked, geometry: geometry, groups: groups, dx: dx, dw: dw)
        }
        let pd = UnsafeSendable(gradient.cpuFloats)
        let (px, pw) = (UnsafeSendable(x?.cpuFloats), UnsafeSendable(w?.cpuFloats))
        let (pdx, pdw) = (UnsafeSendable(dx?.cpuFloats), UnsafeSendable(dw?.cpuFloats))
        if plan.isPointwise {
            if let dxp = pdx.value, let wp = pw.value {
                GEMM.multiply(
                    M: plan.rows, N: g.C, K: K, A: pd.value, rsA: K, csA: 1, B: wp, rsB: 1, csB: K, C: dxp, ldc: g.C)
            }
            if let dwp = pdw.value, let xp = px.value {
                GEMM.multiply(
                    M: g.C, N: K, K: plan.rows, A: xp, rsA: 1, csA: g.C, B: pd.value, rsB: K, csB: 1, C: dwp, ldc: K)
            }
            return
        }
        let per = plan.imagesPerChunk
        let tasks = (g.N + per - 1) / per
        let pixels = g.OH * g.OW
        let (width, cg, kg, depthwise) = (plan.width, plan.Cg, plan.Kg, plan.isDepthwise)
        // Filter gradients are summed per chunk, then the chunks in order: deterministic.
        let partials = dw.map { Tensor(uninitializedShape: [tasks] + $0.shape, dtype: .float32, backend: self) }
        if let partials, depthwise { fill(partials, value: 0) }  // the others write every element
        let pp = UnsafeSendable(partials?.cpuFloats)
        let filterCount = dw?.count ?? 0
        // dx of a Winograd layer is the convolution of dOut with the flipped, transposed filters,
        // also by Winograd; otherwise each group's transposed filters are packed once for every chunk.
        let winograd = plan.usesWinograd && (0...2).contains(g.padTop) && (0...2).contains(g.padLeft)
        var back = g
        (back.H, back.W, back.C, back.OH, back.OW) = (g.OH, g.OW, K, g.H, g.W)
        (back.padTop, back.padLeft) = (2 - g.padTop, 2 - g.padLeft)
        let flipped =
            winograd ? pw.value.map { transformedFilters(flippedFilters($0, C: g.C, K: K), C: K, K: g.C) } : nil
        let pf = UnsafeSendable(flipped.map { UnsafePointer<Float>($0.cpuFloats) })
        defer { withExtendedLifetime(flipped) {} }
        let packedT =
            winograd
            ? nil
            : pw.value.map { wp in
                packFilters(groups: depthwise ? 0 : groups, N: width, K: kg, rsB: 1, csB: K) {
                    UnsafePointer(wp + $0 * kg)
                }
            }
        let pt = UnsafeSendable(packedT.map { UnsafePointer<Float>($0.buffer.cpuFloats) })
        defer { withExtendedLifetime(packedT) {} }
        // The bias gradient too: per chunk, then the chunks in order.
        let biasPartials = dbias.map { _ in Tensor(uninitializedShape: [tasks, K], dtype: .float32, backend: self) }
        let (pr, pb) = (
            UnsafeSendable(reluOutput.map { UnsafePointer($0.cpuFloats) }), UnsafeSendable(biasPartials?.cpuFloats)
        )
        // The filter gradient's transposed copy: [width, Kg] read from Kgᵀ rows, written K apart.
        let transpose = (shape: [width, kg], from: [1, width], to: [K, 1])
        ThreadPool.forEachTask(tasks) { t in
            let n0 = t * per, n1 = Swift.min(g.N, n0 + per)
            let partial = pp.value.map { $0 + t * filterCount }
            if depthwise {
                // The kernel reads x only for the filter gradient and the filter only for dx; when one
                // is not given, a buffer of the same shape stands in for it, unread.
                let xp = px.value ?? pdx.value, fp = pw.value ?? partial
                withUnsafePointer(to: g) { gp in
                    nbl_depthwise_conv_backward_nhwc(gp, xp, fp, K / g.C, pd.value, n0, n1, pdx.value, partial)
                }
                return
            }
            let r0 = n0 * pixels, n = (n1 - n0) * pixels
            let masked = pr.value != nil ? Tensor(uninitializedShape: [n, K], dtype: .float32, backend: self) : nil
            if pr.value != nil || pb.value != nil {
                nbl_mask_and_sum_rows(
                    pd.value + r0 * K, pr.value.map { $0 + r0 * K }, n, K, masked?.cpuFloats,
                    pb.value.map { $0 + t * K })
            }
            let dout = masked.map { UnsafePointer($0.cpuFloats) } ?? UnsafePointer(pd.value + r0 * K)
            if winograd {
                // Both gradients by Winograd, image chunk by tile chunk.
                defer { withExtendedLifetime(masked) {} }  // dout points into it
                var (images, gradients) = (g, back)  // this chunk's images
                (images.N, gradients.N) = (n1 - n0, n1 - n0)
                if let partial, let xp = px.value {
                    let du = Tensor(uninitializedShape: [16 * g.C * K], dtype: .float32, backend: self)
                    inWinogradChunks(images, channels: (g.C, K)) { geometry, t0, count, scratch in
                        nbl_conv2d_winograd_filter_gradient(
                            geometry, xp + n0 * g.H * g.W * g.C, dout, K, t0, count, t0 > 0 ? 1 : 0, du.cpuFloats,
                            scratch)
                    }
                    nbl_winograd_filter_gradient(du.cpuFloats, g.C, K, partial)
                }
                if let dxp = pdx.value, let wf = pf.value {
                    inWinogradChunks(gradients, channels: (K, g.C)) { geometry, t0, count, scratch in
                        nbl_conv2d_winograd(
                            geometry, dout, wf, g.C, t0, count, nil, 0, dxp + n0 * g.H * g.W * g.C, scratch)
                    }
                }
                return
            }
            let col = Tensor(uninitializedShape: [n, width], dtype: .float32, backend: self)
            let transposed =
                partial != nil && width > kg
                ? Tensor(uninitializedShape: [kg, width], dtype: .float32, backend: self) : nil
            defer { withExtendedLifetime((masked, col, transposed)) {} }  // dout, col and t point into them
            for group in 0..<groups {
                let doutGroup = dout + group * kg
                if let partial, let xp = px.value {
                    withUnsafePointer(to: g) { nbl_im2col_nhwc($0, xp, group * cg, cg, r0, n, col.cpuFloats) }
                    if let t = transposed?.cpuFloats {
                        // dW_gᵀ[Kg, width] = dOut_gᵀ · col, the wide side as N (col's rows packed as
                        // they lie), then transposed in: the same sums in the same order as below.
                        GEMM.multiply(
                            M: kg, N: width, K: n, A: doutGroup, rsA: 1, csA: K, B: col.cpuFloats, rsB: width,
                            csB: 1, C: t, ldc: width, threads: 1)
                        nbl_copy_strided(
                            2, transpose.shape, t, transpose.from, partial + group * kg, transpose.to, 4, 0, width * kg)
                    } else {
                        // dW_g[width, Kg] = colᵀ · dOut_g
                        GEMM.multiply(
                            M: width, N: kg, K: n, A: col.cpuFloats, rsA: 1, csA: width, B: doutGroup, rsB: K, csB: 1,
                            C: partial + group * kg, ldc: K, threads: 1)
                    }
                }
                if let dxp = pdx.value, let wt = pt.value, let size = packedT?.size {
                    // dCol[n, width] = dOut_g · W_gᵀ, then scattered back onto the input.
                    nbl_sgemm_packed(n, width, kg, doutGroup, K, 1, wt + group * size, col.cpuFloats, width, 0)
                    withUnsafePointer(to: g) { nbl_col2im_nhwc($0, col.cpuFloats, group * cg, cg, r0, n, dxp) }
                }
            }
        }
        if let partials, let dw { reduce(.sum, partials, axes: [0], into: dw.reshaped([1] + dw.shape)) }
        if let biasPartials, let dbias { reduce(.sum, biasPartials, axes: [0], into: dbias.reshaped([1, K])) }
    }

    // MARK: Pooling

    public func maxPool2d(_ x: Tensor, geometry: WindowGeometry, into out: Tensor, argmax: Tensor?) {
        let g = geometry.kernel
        let (px, po) = (UnsafeSendable(x.cpuFloats), UnsafeSendable(out.cpuFloats))
        let pa = UnsafeSendable(argmax?.cpuPointer.assumingMemoryBound(to: Int32.self))
        ThreadPool.parallelFor(g.N, grain: 1) { n0, n1 in
            withUnsafePointer(to: g) { nbl_maxpool_nhwc($0, px.value, n0, n1, po.value, pa.value) }
        }
    }

    public func maxPool2dBackward(_ gradient: Tensor, argmax: Tensor, geometry: WindowGeometry, into dx: Tensor) {
        let g = geometry.kernel
        let (pg, pdx) = (UnsafeSendable(gradient.cpuFloats), UnsafeSendable(dx.cpuFloats))
        let pa = UnsafeSendable(UnsafePointer(argmax.cpuPointer.assumingMemoryBound(to: Int32.self)))
        ThreadPool.parallelFor(g.N, grain: 1) { n0, n1 in
            withUnsafePointer(to: g) { nbl_maxpool_backward_nhwc($0, pg.value, pa.value, n0, n1, pdx.value) }
        }
    }

    public func avgPool2d(_ x: Tensor, geometry: WindowGeometry, into out: Tensor) {
        let g = geometry.kernel
        let (px, po) = (UnsafeSendable(x.cpuFloats), UnsafeSendable(out.cpuFloats))
        ThreadPool.parallelFor(g.N, grain: 1) { n0, n1 in
            withUnsafePointer(to: g) { nbl_avgpool_nhwc($0, px.value, n0, n1, po.value) }
        }
    }

    public func avgPool2dBackward(_ gradient: Tensor, geometry: WindowGeometry, into dx: Tensor) {
        let g = geometry.kernel
        let (pg, pdx) = (UnsafeSendable(gradient.cpuFloats), UnsafeSendable(dx.cpuFloats))
        ThreadPool.parallelFor(g.N, grain: 1) { n0, n1 in
            withUnsafePointer(to: g) { nbl_avgpool_backward_nhwc($0, pg.value, n0, n1, pdx.value) }
        }
    }

    // MARK: Softmax, cross-entropy, batch normalisation

    public func softmax(_ x: Tensor, isLog: Bool, into out: Tensor) {
        let n = x.shape.last ?? 1
        let rows = x.count / Swift.max(n, 1)
        let (px, py) = (UnsafeSendable(x.cpuFloats), UnsafeSendable(out.cpuFloats))
        ThreadPool.parallelFor(rows, grain: Swift.max(1, 8192 / Swift.max(n, 1))) { r0, r1 in
            nbl_softmax_f32(px.value + r0 * n, py.value + r0 * n, r1 - r0, n, isLog ? 1 : 0)
        }
    }

    public func softmaxBackward(_ y: Tensor, gradient: Tensor, isLog: Bool, into dx: Tensor) {
        let n = y.shape.last ?? 1
        nbl_softmax_backward_f32(
            y.cpuFloats, gradient.cpuFloats, dx.cpuFloats, y.count / Swift.max(n, 1), n, isLog ? 1 : 0)
    }

    public func softmaxCrossEntropy(
        logits: Tensor, sparse: Tensor?, dense: Tensor?, loss: Tensor, probabilities: Tensor
    ) -> Int? {
        let n = logits.shape.last ?? 1
        let bad = nbl_softmax_xent_f32(
            logits.cpuFloats, logits.count / Swift.max(n, 1), n, sparse?.cpuPointer.assumingMemoryBound(to: Int64.self),
            dense?.cpuFloats, loss.cpuFloats, probabilities.cpuFloats)
        return bad >= 0 ? bad : nil
    }

    public func channelMoments(_ x: Tensor, mean: Tensor, variance: Tensor) {
        let C = x.shape.last ?? 1
        nbl_channel_moments_f32(x.cpuFloats, x.count / Swift.max(C, 1), C, mean.cpuFloats, variance.cpuFloats)
    }

    public func batchNormForward(
        _ x: Tensor, mean: Tensor, invstd: Tensor, scale: Tensor?, offset: Tensor?, into y: Tensor
    ) {
        let C = x.shape.last ?? 1
        nbl_batchnorm_forward_f32(
            x.cpuFloats, x.count / Swift.max(C, 1), C, mean.cpuFloats, invstd.cpuFloats, scale?.cpuFloats,
            offset?.cpuFloats, y.cpuFloats)
    }

    public func batchNormBackward(
        _ x: Tensor, gradient: Tensor, mean: Tensor, invstd: Tensor, scale: Tensor?, dx: Tensor, dscale: Tensor,
        doffset: Tensor
    ) {
        let C = x.shape.last ?? 1
        nbl_batchnorm_backward_f32(
            x.cpuFloats, gradient.cpuFloats, x.count / Swift.max(C, 1), C, mean.cpuFloats, invstd.cpuFloats,
            scale?.cpuFloats, dx.cpuFloats, dscale.cpuFloats, doffset.cpuFloats)
    }

    // MARK: Random numbers

    public func random(_ distribution: RandomDistribution, seed: UInt64, stream: UInt64, into out: Tensor) {
        let (kind, a, b): (Int32, Float, Float) =
            switch distribution {
            case .uniform(let low, let high): (Int32(NBL_RNG_UNIFORM), low, high)
            case .normal(let mean, let std): (Int32(NBL_RNG_NORMAL), mean, std)
            case .truncatedNormal(let mean, let std): (Int32(NBL_RNG_TRUNCATED_NORMAL), mean, std)
            }
        let p = UnsafeSendable(out.cpuFloats)
        ThreadPool.parallelFor(out.count, grain: 1 << 14) { start, end in
            nbl_random_f32(kind, seed, stream, a, b, p.value, start, end)
        }
    }

    public func dropout(_ x: Tensor, rate: Float, seed: UInt64, stream: UInt64, into y: Tensor, mask: Tensor) {
        let (px, py, pm) = (UnsafeSendable(x.cpuFloats), UnsafeSendable(y.cpuFloats), UnsafeSendable(mask.cpuFloats))
        let n = x.count
        ThreadPool.parallelFor(n, grain: 1 << 15) { start, end in
            nbl_dropout_f32(px.value, py.value, pm.value, n, rate, seed, stream, start, end)
        }
    }

    // MARK: Indexing

    public func gather(_ x: Tensor, indices: Tensor, axis: Int, into out: Tensor) {
        let n = x.shape[axis], k = indices.count
        let outer = x.shape[..<axis].reduce(1, *), rowBytes = x.shape[(axis + 1)...].reduce(1, *) * x.dtype.byteSize
        let idx = indices.cpuPointer.assumingMemoryBound(to: Int64.self)
        let (src, dst) = (x.cpuPointer, out.cpuPointer)
        for o in 0..<outer {
            for j in 0..<k {
                (dst + (o * k + j) * rowBytes).copyMemory(
                    from: src + (o * n + Int(idx[j])) * rowBytes, byteCount: rowBytes)
            }
        }
    }

    public func scatterAdd(_ gradient: Tensor, indices: Tensor, axis: Int, into dx: Tensor) {
        let n = dx.shape[axis], k = indices.count
        let outer = dx.shape[..<axis].reduce(1, *), inner = dx.shape[(axis + 1)...].reduce(1, *)
        let idx = indices.cpuPointer.assumingMemoryBound(to: Int64.self)
        let (src, dst) = (gradient.cpuFloats, dx.cpuFloats)
        for o in 0..<outer {
            for j in 0..<k {
                let s = src + (o * k + j) * inner, d = dst + (o * n + Int(idx[j])) * inner
                for i in 0..<inner { d[i] += s[i] }
            }
        }
    }

    public func oneHot(_ labels: Tensor, classes: Int, into out: Tensor) {
        fill(out, value: 0)
        let (src, dst) = (labels.cpuPointer.assumingMemoryBound(to: Int64.self), out.cpuFloats)
        for i in 0..<labels.count { dst[i * classes + Int(src[i])] = 1 }
    }

    // MARK: Image resampling

    public func affineResample(
        _ x: Tensor, matrices: [Float], fill: FillMode, fills: [Float], scales: [Float], biases: [Float],
        nearest: Bool, into out: Tensor
    ) {
        let (n, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (oh, ow) = (out.shape[1], out.shape[2])
        let mode: Int32 =
            switch fill {
            case .constant: Int32(NBL_FILL_CONSTANT)
            case .nearest: Int32(NBL_FILL_NEAREST)
            case .reflect: Int32(NBL_FILL_REFLECT)
            }
        let constants = matrices + fills + scales + biases
        let (px, po) = (UnsafeSendable(UnsafeRawPointer(x.cpuPointer)), UnsafeSendable(out.cpuFloats))
        let u8: Int32 = x.dtype == .uint8 ? 1 : 0
        constants.withUnsafeBufferPointer { k in
            guard let base = k.baseAddress else { return }
            let pk = UnsafeSendable(base)
            ThreadPool.parallelFor(n, grain: Swift.max(1, 4096 / Swift.max(oh * ow, 1))) { n0, n1 in
                let m = pk.value, f = pk.value + 6 * n
                nbl_resample_nhwc(
                    px.value, u8, h, w, c, m, oh, ow, mode, f, f + c, f + 2 * c, nearest ? 1 : 0, n0, n1, po.value)
            }
        }
    }

    // MARK: Optimizer updates

    /// Runs an update over `count` elements in ranges spread over the pool: each element's update
    /// is independent, so the result does not depend on the split.
    private func elementwiseUpdate(_ count: Int, _ body: (Int, Int) -> Void) {
        ThreadPool.parallelFor(count, grain: 1 << 15, body)
    }

    public func sgdStep(
        _ parameter: Tensor, gradient: Tensor, velocity: Tensor?, learningRate: Float, momentum: Float,
        nesterov: Bool, weightDecay: Float
    ) {
        let (p, g, vel) = (parameter.cpuFloats, gradient.cpuFloats, velocity?.cpuFloats)
        elementwiseUpdate(parameter.count) { s, e in
            nbl_sgd_step(p + s, g + s, vel.map { $0 + s }, e - s, learningRate, momentum, nesterov ? 1 : 0, weightDecay)
        }
    }

    public func rmspropStep(
        _ parameter: Tensor, gradient: Tensor, meanSquare: Tensor, meanGradient: Tensor?, velocity: Tensor?,
        learningRate: Float, rho: Float, momentum: Float, epsilon: Float, weightDecay: Float
    ) {
        let (p, g, ms) = (parameter.cpuFloats, gradient.cpuFloats, meanSquare.cpuFloats)
        let (mg, vel) = (meanGradient?.cpuFloats, velocity?.cpuFloats)
        elementwiseUpdate(parameter.count) { s, e in
            nbl_rmsprop_step(
                p + s, g + s, ms + s, mg.map { $0 + s }, vel.map { $0 + s }, e - s, learningRate, rho, momentum,
                epsilon, weightDecay)
        }
    }

    public func adamStep(
        _ parameter: Tensor, gradient: Tensor, m: Tensor, v: Tensor, learningRate: Float, beta1: Float,
        beta2: Float, epsilon: Float, step: Int, weightDecay: Float
    ) {
        let (p, g, mm, vv) = (parameter.cpuFloats, gradient.cpuFloats, m.cpuFloats, v.cpuFloats)
        elementwiseUpdate(parameter.count) { s, e in
            nbl_adam_step(p + s, g + s, mm + s, vv + s, e - s, learningRate, beta1, beta2, epsilon, step, weightDecay)
        }
    }

    public func adagradStep(
        _ parameter: Tensor, gradient: Tensor, accumulator: Tensor, learningRate: Float, epsilon: Float,
        weightDecay: Float
    ) {
        let (p, g, acc) = (parameter.cpuFloats, gradient.cpuFloats, accumulator.cpuFloats)
        elementwiseUpdate(parameter.count) { s, e in
            nbl_adagrad_step(p + s, g + s, acc + s, e - s, learningRate, epsilon, weightDecay)
        }
    }
}
