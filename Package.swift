// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "Nabla",
    products: [
        .library(name: "Nabla", targets: ["Nabla"]),
        .library(name: "NablaNN", targets: ["NablaNN"]),
        .library(name: "NablaData", targets: ["NablaData"]),
        .library(name: "NablaModels", targets: ["NablaModels"]),
        .library(name: "NablaIO", targets: ["NablaIO"]),
        .library(name: "NablaDistributed", targets: ["NablaDistributed"]),
        .executable(name: "nabla", targets: ["NablaCLI"]),
        // The inference server; `nabla serve` runs it from beside `nabla`.
        .executable(name: "nabla-serve", targets: ["NablaServeCLI"]),
        .executable(name: "nabla-bench", targets: ["NablaBench"]),
        // The readers' fuzz targets as one shared library, linked to libFuzzer by scripts/fuzz.
        .library(name: "NablaFuzz", type: .dynamic, targets: ["NablaFuzz"]),
    ],
    dependencies: [
        // Only the command line needs it.
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // The inference server (NablaServe) only; its default traits pull in swift-configuration.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        // `swift package generate-documentation`: the API reference and the getting-started guide.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        // Hot CPU kernels in C: packed SGEMM with run-time ISA dispatch, im2col, elementwise loops.
        // Only the core's CPU backend (Sources/Nabla/Backend/CPU) calls them.
        .target(name: "CNablaKernels"),
        // zlib from the system (present on a fresh Debian with Swift), for gzip-compressed datasets.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // JPEG and PNG through the system's libjpeg-turbo and libpng (present on a fresh Debian with Swift).
        .target(name: "CNablaImage", linkerSettings: [.linkedLibrary("jpeg"), .linkedLibrary("png16")]),
        .target(name: "Nabla", dependencies: ["CNablaKernels"]),
        .target(name: "NablaData", dependencies: ["Nabla", "CZlib", "CNablaImage"]),
        // Training needs no data module: the batch path is in the core, so no image codec is linked.
        .target(name: "NablaNN", dependencies: ["Nabla"]),
        .target(name: "NablaModels", dependencies: ["Nabla", "NablaNN"]),
        // Data-parallel training over MPI, loaded with dlopen at run time (nothing MPI at build time).
        .target(name: "CNablaMPI", linkerSettings: [.linkedLibrary("dl")]),
        .target(name: "NablaDistributed", dependencies: ["Nabla", "NablaNN", "CNablaMPI"]),
        // NVIDIA's driver API, loaded with dlopen at run time: finding GPUs and choosing a device.
        .target(name: "CNablaCUDA", linkerSettings: [.linkedLibrary("dl")]),
        .target(name: "NablaCUDA", dependencies: ["Nabla", "CNablaCUDA"]),
        // Formats other tools own (ONNX), written by hand: no code generator runs at build time.
        .target(name: "NablaIO", dependencies: ["Nabla", "NablaNN", "NablaData"]),
        // The inference server: Open Inference Protocol v2 over HTTP, a page to try models, batching.
        .target(
            name: "NablaServe",
            dependencies: [
                "Nabla", "NablaNN", "NablaIO",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]),
        .executableTarget(
            name: "NablaCLI",
            dependencies: [
                "Nabla", "NablaNN", "NablaData", "NablaModels", "NablaIO", "NablaDistributed", "NablaCUDA",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        // A separate binary so that `nabla` (training, prediction) builds without the server's
        // dependencies (SwiftNIO, Hummingbird).
        .executableTarget(
            name: "NablaServeCLI",
            dependencies: [
                "NablaIO", "NablaServe", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .target(name: "NablaTestSupport", dependencies: ["Nabla"]),
        .target(name: "NablaFuzz", dependencies: ["Nabla", "NablaNN", "NablaData", "NablaIO"]),
        .executableTarget(
            name: "NablaBench", dependencies: ["Nabla", "NablaNN", "NablaData", "NablaModels"]),
        .testTarget(name: "NablaTests", dependencies: ["Nabla", "NablaTestSupport", "CNablaKernels"]),
        .testTarget(name: "NablaDataTests", dependencies: ["NablaData", "NablaTestSupport", "CZlib", "CNablaImage"]),
        .testTarget(name: "NablaNNTests", dependencies: ["NablaNN", "NablaData", "NablaTestSupport"]),
        .testTarget(name: "NablaModelsTests", dependencies: ["NablaModels", "NablaTestSupport"]),
        .testTarget(name: "NablaIOTests", dependencies: ["NablaIO", "NablaModels", "NablaData", "NablaTestSupport"]),
        .testTarget(name: "NablaFuzzTests", dependencies: ["NablaFuzz", "NablaIO", "NablaNN"], resources: [.copy("Corpus")]),
        .testTarget(
            name: "NablaCLITests",
            dependencies: ["NablaCLI", "NablaServeCLI", "Nabla", "NablaNN", "NablaData", "NablaCUDA", "NablaTestSupport"],
            exclude: ["Snapshots", "Clients"]),
    ]
)
