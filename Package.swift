// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Nabla",
    products: [
        .library(name: "Nabla", targets: ["Nabla"]),
        .executable(name: "nabla-bench", targets: ["NablaBench"]),
    ],
    targets: [
        // Hot CPU kernels in C: packed SGEMM with run-time ISA dispatch, im2col, elementwise loops.
        .target(name: "CNablaKernels"),
        .target(name: "Nabla", dependencies: ["CNablaKernels"]),
        .target(name: "NablaTestSupport", dependencies: ["Nabla"]),
        .executableTarget(name: "NablaBench", dependencies: ["Nabla", "CNablaKernels"]),
        .testTarget(name: "NablaTests", dependencies: ["Nabla", "NablaTestSupport", "CNablaKernels"]),
    ]
)
