// swift-tools-version:6.0
import PackageDescription

// kswap: knowledge swapping and weight-file surgery for vision transformers.
// Dependencies point one way: format and tensors at the bottom, commands at the top.
// Only the tools that run the model link BLAS, so the commands live in four libraries:
// InspectCommand (no BLAS, no image codecs, no Foundation: inspect starts in a few ms),
// FileCommands (pack, with the importers), SurgeryCommands (merge, diff; no BLAS) and ModelCommands.
// Every target lists each module it imports.

let surgeryTools = ["merge", "diff"]  // built on SurgeryCommands
let modelTools = ["learn", "forget", "eval", "pretrain"]  // built on ModelCommands

let argumentParser = Target.Dependency.product(name: "ArgumentParser", package: "swift-argument-parser")
// -static-stdlib links the Swift runtime into the executable. The modules are still compiled
// against the shared runtime, so the static FoundationEssentials (which swift-argument-parser
// imports) does not name its own dependencies: they are listed here.
let staticSwiftRuntime: [LinkerSetting] = [
  .unsafeFlags(["-static-stdlib", "-l_FoundationCollections", "-l_FoundationCShims", "-lswiftSynchronization"])
]

let package = Package(
  name: "kswap",
  products: (["kswap"] + (["inspect", "pack"] + surgeryTools + modelTools).map { "kswap-\($0)" })
    .map { .executable(name: $0, targets: [$0]) }
    // Libraries for the repository's other packages: Benchmarks/harness (TensorFile), Fuzz (every file reader).
    + ["TensorFile", "Importers", "WeightSurgery", "Swap"].map { .library(name: $0, targets: [$0]) },
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.0")
  ],
  targets: [
    // C libraries, found through pkg-config.
    .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
    .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
    .systemLibrary(name: "CArchive", pkgConfig: "libarchive", providers: [.apt(["libarchive-dev"])]),
    .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
    .systemLibrary(name: "CJPEG", pkgConfig: "libjpeg", providers: [.apt(["libjpeg62-turbo-dev"])]),

    // Libraries, leaves first.
    .target(name: "SeededRandom"),
    .target(name: "TensorFile", dependencies: ["CZstd"]),
    .target(name: "Importers", dependencies: ["TensorFile", "SeededRandom", "CArchive", "CPNG", "CJPEG"]),
    .target(name: "CKernels"),  // AVX-512 elementwise kernels with a run-time fallback
    .target(name: "Tensors", dependencies: ["COpenBLAS", "CKernels", "SeededRandom"]),
    .target(name: "ViT", dependencies: ["Tensors", "TensorFile", "WeightSurgery", "SeededRandom"]),
    .target(
      name: "Swap", dependencies: ["ViT", "Tensors", "TensorFile", "WeightSurgery", "SeededRandom", "Importers"]),  // Importers: PyTorch checkpoints as models
    .target(name: "ToolSupport", dependencies: ["TensorFile", argumentParser]),
    .target(name: "WeightSurgery", dependencies: ["TensorFile"]),  // adapters, merge and diff, no BLAS
    .target(name: "InspectCommand", dependencies: ["ToolSupport", "TensorFile", argumentParser]),
    .target(
      name: "FileCommands", dependencies: ["ToolSupport", "Importers", "TensorFile", "WeightSurgery", argumentParser]),
    .target(name: "SurgeryCommands", dependencies: ["ToolSupport", "WeightSurgery", "TensorFile", argumentParser]),
    .target(
      name: "ModelCommands",
      dependencies: ["ToolSupport", "Swap", "ViT", "Tensors", "TensorFile", "SeededRandom", argumentParser]),

    // Executables: `kswap` dispatches `kswap <verb>` to `kswap-<verb>`; each tool's main is two lines.
    // The two that run most often link the Swift runtime statically: loading libswiftCore and
    // friends is most of a short run's time (Benchmarks/inspect.md).
    .executableTarget(name: "kswap", linkerSettings: staticSwiftRuntime),
    .executableTarget(name: "kswap-inspect", dependencies: ["InspectCommand"], linkerSettings: staticSwiftRuntime),
    .executableTarget(name: "kswap-pack", dependencies: ["FileCommands"]),
    // Benchmark (Scripts/bench-train), not a product: the training step timed in-process.
    .executableTarget(
      name: "bench-train", dependencies: ["Swap", "ViT", "Tensors", "SeededRandom"], path: "Benchmarks/TrainBench"),

    // Tests, one target per module.
    .testTarget(name: "TensorFileTests", dependencies: ["TensorFile", "SeededRandom"]),
    .testTarget(name: "ImportersTests", dependencies: ["Importers", "TensorFile"]),
    .testTarget(name: "TensorsTests", dependencies: ["SeededRandom", "Tensors"]),
    .testTarget(
      name: "ViTTests", dependencies: ["SeededRandom", "Tensors", "TensorFile", "ViT", "WeightSurgery", "Swap"]),  // Swap: the loss
    .testTarget(
      name: "SwapTests", dependencies: ["SeededRandom", "Swap", "ViT", "Tensors", "TensorFile", "WeightSurgery"]),
    .testTarget(
      name: "CommandsTests",
      dependencies: [
        "SeededRandom", "InspectCommand", "FileCommands", "SurgeryCommands", "ModelCommands", "WeightSurgery",
        "ToolSupport", "TensorFile", "Tensors", "ViT", argumentParser,
      ]),
  ]
    + surgeryTools.map { .executableTarget(name: "kswap-\($0)", dependencies: ["SurgeryCommands"]) }
    + modelTools.map { .executableTarget(name: "kswap-\($0)", dependencies: ["ModelCommands"]) }
)
