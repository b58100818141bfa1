// swift-tools-version:6.0
import PackageDescription

// kswap: knowledge swapping and weight-file surgery for vision transformers.
// Dependencies point one way: format and tensors at the bottom, commands at the top.
// `kswap-inspect` and `kswap-pack` only move bytes and must not link BLAS, so the commands live
// in three libraries: InspectCommand (no BLAS, no image codecs, no Foundation: inspect starts in a
// few ms), FileCommands (pack, with the importers) and ModelCommands. Every target lists each
// module it imports.

let fileTools = ["inspect", "pack"]  // built on InspectCommand and FileCommands
let modelTools: [String] = ["learn", "forget", "eval", "pretrain", "merge", "diff"]  // built on ModelCommands

let argumentParser = Target.Dependency.product(name: "ArgumentParser", package: "swift-argument-parser")
// -static-stdlib links the Swift runtime into the executable. The modules are still compiled
// against the shared runtime, so the static FoundationEssentials (which swift-argument-parser
// imports) does not name its own dependencies: they are listed here.
let staticSwiftRuntime: [LinkerSetting] = [
  .unsafeFlags(["-static-stdlib", "-l_FoundationCollections", "-l_FoundationCShims", "-lswiftSynchronization"])
]

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
    .target(name: "Tensors", dependencies: ["COpenBLAS"]),
    .target(name: "ViT", dependencies: ["Tensors", "TensorFile"]),
    .target(name: "Swap", dependencies: ["ViT", "Tensors", "TensorFile"]),
    .target(name: "ToolSupport", dependencies: ["TensorFile", argumentParser]),
    .target(name: "WeightSurgery", dependencies: ["TensorFile"]),  // merge and diff, no BLAS
    .target(name: "InspectCommand", dependencies: ["ToolSupport", "TensorFile", argumentParser]),
    .target(name: "FileCommands", dependencies: ["ToolSupport", "Importers", "TensorFile", argumentParser]),
    .target(
      name: "ModelCommands",
      dependencies: ["ToolSupport", "Swap", "WeightSurgery", "ViT", "Tensors", "TensorFile", argumentParser]),

    // Executables: `kswap` dispatches `kswap <verb>` to `kswap-<verb>`; each tool's main is two lines.
    // The two that run most often link the Swift runtime statically: loading libswiftCore and
    // friends is most of a short run's time (Benchmarks/inspect.md).
    .executableTarget(name: "kswap", linkerSettings: staticSwiftRuntime),
    .executableTarget(name: "kswap-inspect", dependencies: ["InspectCommand"], linkerSettings: staticSwiftRuntime),
    .executableTarget(name: "kswap-pack", dependencies: ["FileCommands"]),
    // Benchmark (Scripts/bench-train), not a product: the training step timed in-process.
    .executableTarget(name: "bench-train", dependencies: ["ViT", "Tensors"], path: "Benchmarks/TrainBench"),

    // Tests, one target per module.
    .testTarget(name: "TensorFileTests", dependencies: ["TensorFile"]),
    .testTarget(name: "ImportersTests", dependencies: ["Importers", "TensorFile"]),
    .testTarget(name: "TensorsTests", dependencies: ["Tensors"]),
    .testTarget(name: "ViTTests", dependencies: ["ViT", "Tensors", "TensorFile"]),
    .testTarget(name: "SwapTests", dependencies: ["Swap", "ViT", "Tensors"]),
    .testTarget(
      name: "CommandsTests",
      dependencies: [
        "InspectCommand", "FileCommands", "ModelCommands", "WeightSurgery", "ToolSupport", "TensorFile", "Tensors",
        "ViT", argumentParser,
      ]),
  ]
    + modelTools.map { .executableTarget(name: "kswap-\($0)", dependencies: ["ModelCommands"]) }
)
