// swift-tools-version:6.0
// Coverage-guided fuzzing (libFuzzer) of every reader of untrusted bytes. A package of its own so the
// sanitizer build never enters `swift build` or `swift test`: Scripts/fuzz builds it with
// `-sanitize=fuzzer,address` and runs its targets (`kswap-fuzz --list`).
import PackageDescription

let package = Package(
  name: "kswap-fuzz",
  dependencies: [.package(name: "kswap", path: "..")],
  targets: [
    // libFuzzer's entry point for a program with a main of its own; the library comes with the toolchain.
    .systemLibrary(name: "CLibFuzzer"),
    .executableTarget(
      name: "kswap-fuzz",
      dependencies: ["CLibFuzzer"]
        + ["TensorFile", "Importers", "WeightSurgery", "Swap"].map {
          .product(name: $0, package: "kswap")
        }),
  ]
)
