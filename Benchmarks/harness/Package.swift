// swift-tools-version:6.0
// The compression benchmark's Swift side, a package of its own so the benchmark does not add a
// product to kswap: it links TensorFile from the repository root and times it in-process.
import PackageDescription

let package = Package(
  name: "bench-compress",
  dependencies: [.package(name: "kswap", path: "../..")],
  targets: [
    .executableTarget(name: "bench-compress", dependencies: [.product(name: "TensorFile", package: "kswap")])
  ]
)
