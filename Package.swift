// swift-tools-version:6.0
import PackageDescription

// kswap: knowledge swapping and weight-file surgery for vision transformers.
// Dependencies point one way: format and tensors at the bottom, commands at the top.
// `kswap-inspect` and `kswap-pack` only move bytes and must not link BLAS, so the
// commands live in two libraries: FileCommands (no BLAS) and ModelCommands.

let fileTools = ["inspect", "pack"]  // built on FileCommands
let modelTools: [String] = ["learn", "forget", "eval", "pretrain", "merge", "diff"]  // built on ModelCommands

let argumentParser = Target.Dependency.product(name: "ArgumentParser", package: "swift-argument-parser")

let package = Package(
  name: "kswap",
  products: (["kswap"] + (fileTools + modelTools).map { "kswap-\($0)" })
    .map { .executable(name: $0, targets: [$0]) }
    + [.library(name: "TensorFile", targets: ["TensorFile"])],  // also used by Benchmarks/harness
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.0"),
  ],
  targets: [
    // C libraries, found through pkg-config.
    .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
    .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
    .systemLibrary(name: "CArchive", pkgConfig: "libarchive", providers: [.apt(["libarchive-dev"])]),
    .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
    .systemLibrary(name: "CJPEG", pkgConfig: "libjpeg", providers: [.apt(["libjpeg62-turbo-dev"])]),

    // Libraries, leaves first.
    .target(name: "TensorFile", dependencies: ["CZstd"]),
    .target(name: "Importers", dependencies: ["TensorFile", "CArchive", "CPNG", "CJPEG"]),
    .target(name: "CKernels"),  // AVX-512 elementwise kernels with a run-time fallback
    .target(name: "Tensors", dependencies: ["COpenBLAS", "CKernels"]),
    .target(name: "ViT", dependencies: ["Tensors", "TensorFile"]),
    .target(name: "Swap", dependencies: ["ViT"]),
    .target(name: "ToolSupport", dependencies: ["TensorFile", argumentParser]),
    .target(name: "WeightSurgery", dependencies: ["TensorFile"]),  // merge and diff, no BLAS
    .target(name: "FileCommands", dependencies: ["ToolSupport", "Importers"]),
    .target(name: "ModelCommands", dependencies: ["ToolSupport", "Swap", "WeightSurgery"]),

    // Executables: `kswap` dispatches `kswap <verb>` to `kswap-<verb>`; each tool's main is two lines.
    .executableTarget(name: "kswap"),
    // Benchmark (Scripts/bench-train), not a product: the training step timed in-process.
    .executableTarget(name: "bench-train", dependencies: ["Swap"], path: "Benchmarks/TrainBench"),

    // Tests, one target per module.
    .testTarget(name: "TensorFileTests", dependencies: ["TensorFile"]),
    .testTarget(name: "ImportersTests", dependencies: ["Importers"]),
    .testTarget(name: "TensorsTests", dependencies: ["Tensors"]),
    .testTarget(name: "ViTTests", dependencies: ["ViT"]),
    .testTarget(name: "SwapTests", dependencies: ["Swap"]),
    .testTarget(name: "CommandsTests", dependencies: ["FileCommands", "ModelCommands", "WeightSurgery"]),
  ]
    + fileTools.map { .executableTarget(name: "kswap-\($0)", dependencies: ["FileCommands"]) }
    + modelTools.map { .executableTarget(name: "kswap-\($0)", dependencies: ["ModelCommands"]) }
)
