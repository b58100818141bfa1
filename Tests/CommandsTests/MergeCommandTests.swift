// kswap-merge end to end in-process: numerics against float64 references computed here, unmerge,
// dtypes, weights, head extension, metadata, and every refusal with nothing written.

import Foundation
import TensorFile
import Testing
import WeightSurgery

@testable import SurgeryCommands

@Suite struct MergeCommandTests {
  typealias Random = MergeArithmeticTests.Random

  func write(_ path: String, _ tensors: [(String, DType, [Int], [Float])], metadata: [String: String] = [:]) throws {
    try TensorWriter.write(
      path: path, metadata: metadata,
      tensors: tensors.map { name, dtype, shape, values in
        let bytes =
          dtype == .i64
          ? values.flatMap { withUnsafeBytes(of: Int64($0).littleEndian, Array.init) }
          : try FloatConversion.bytes(from: values, dtype: dtype)
        return (try TensorInfo(name: name, dtype: dtype, shape: shape), bytes)
      })
  }

  func read(_ path: String, _ name: String) throws -> [Float] { try TensorReader(path: path).floats(of: name) }

  /// A base with two 2-D weights (fc1 6x5, fc2 5x6), a bias and an integer tensor, plus an adapter on both.
  struct Setup {
    var w1: [Float], w2: [Float], a1: [Float], b1: [Float], a2: [Float], b2: [Float]
  }

  func makeSetup(_ dir: ScratchDirectory, baseType: DType = .f32, adapterMetadata: [String: String]? = nil) throws
    -> Setup
  {
    var random = Random(state: 5)
    let s = Setup(
      w1: random.array(30), w2: random.array(30), a1: random.array(3 * 5), b1: random.array(6 * 3),
      a2: random.array(2 * 6), b2: random.array(5 * 2))
    try write(
      dir.file("base.safetensors"),
      [
        ("blocks.0.mlp.fc1.weight", baseType, [6, 5], s.w1), ("blocks.0.mlp.fc2.weight", baseType, [5, 6], s.w2),
        ("blocks.0.mlp.fc1.bias", baseType, [6], [1, 2, 3, 4, 5, 6]), ("steps", .i64, [], [0]),
        ("head.weight", baseType, [2, 5], Array(repeating: 0.5, count: 10)),
      ])
    let settings = LoRASettings(rank: 3, alpha: 6)
    var metadata = adapterMetadata ?? settings.metadata
    metadata["rank_pattern"] = #"{"fc2": 2}"#
    try write(
      dir.file("adapter.safetensors"),
      [
        (AdapterNames.loraA("blocks.0.mlp.fc1"), .f32, [3, 5], s.a1),
        (AdapterNames.loraB("blocks.0.mlp.fc1"), .f32, [6, 3], s.b1),
        (AdapterNames.loraA("blocks.0.mlp.fc2"), .f32, [2, 6], s.a2),
        (AdapterNames.loraB("blocks.0.mlp.fc2"), .f32, [5, 2], s.b2),
      ], metadata: metadata)
    return s
  }

  /// W + factor * B A in float64.
  func reference(_ w: [Float], _ a: [Float], _ b: [Float], rows: Int, columns: Int, rank: Int, factor: Double)
    -> [Double]
  {
    (0..<rows * columns).map { index in
      let o = index / columns, i = index % columns
      var dot = 0.0
      for k in 0..<rank { dot += Double(b[o * rank + k]) * Double(a[k * columns + i]) }
      return Double(w[index]) + factor * dot
    }
  }

  func run(_ arguments: [String]) -> Captured { capture { Merge.execute(arguments) } }

  @Test func mergeMatchesFloat64ReferenceAndCopiesTheRest() throws {
    let dir = ScratchDirectory()
    let s = try makeSetup(dir)
    let result = run([dir.file("base.safetensors"), dir.file("adapter.safetensors"), "-o", dir.file("out.safetensors")])
    #expect(result.status == 0, "\(result.standardError)")
    let fc1 = try read(dir.file("out.safetensors"), "blocks.0.mlp.fc1.weight")
    let fc2 = try read(dir.file("out.safetensors"), "blocks.0.mlp.fc2.weight")
    for (got, want) in zip(fc1, reference(s.w1, s.a1, s.b1, rows: 6, columns: 5, rank: 3, factor: 6.0 / 3)) {
      #expect(abs(Double(got) - want) <= 2e-6 * max(1, abs(want)))
    }
    for (got, want) in zip(fc2, reference(s.w2, s.a2, s.b2, rows: 5, columns: 6, rank: 2, factor: 6.0 / 2)) {
      #expect(abs(Double(got) - want) <= 2e-6 * max(1, abs(want)))
    }
    let out = try TensorReader(path: dir.file("out.safetensors"))
    let base = try TensorReader(path: dir.file("base.safetensors"))
    for name in ["blocks.0.mlp.fc1.bias", "steps", "head.weight"] {
      #expect(try out.bytes(of: name) == base.bytes(of: name), "\(name)")
    }
  }

  /// BF16 base: the float32 result is rounded once, so it equals round_bf16(float64 reference)
  /// except where the reference sits within float32 noise of a rounding boundary.
  @Test func bf16BaseIsRoundedOnce() throws {
    let dir = ScratchDirectory()
    let s = try makeSetup(dir, baseType: .bf16)
    #expect(
      run([dir.file("base.safetensors"), dir.file("adapter.safetensors"), "-o", dir.file("out.safetensors")]).status
        == 0)
    let out = try TensorReader(path: dir.file("out.safetensors"))
    #expect(out.info("blocks.0.mlp.fc1.weight")?.dtype == .bf16)
    let w1 = s.w1.map { FloatConversion.float(bfloat16Bits: FloatConversion.bfloat16Bits($0)) }
    let want = reference(w1, s.a1, s.b1, rows: 6, columns: 5, rank: 3, factor: 2)
    let got = try out.floats(of: "blocks.0.mlp.fc1.weight")
    var exact = 0
    for (g, w) in zip(got, want) {
      let rounded = FloatConversion.float(bfloat16Bits: FloatConversion.bfloat16Bits(w))
      if g == rounded { exact += 1 } else { #expect(abs(Double(g) - w) <= Double(rounded.ulp)) }
    }
    #expect(exact >= 28)
  }

  @Test func dtypeOptionConvertsEveryFloatTensor() throws {
    let dir = ScratchDirectory()
    _ = try makeSetup(dir)
    #expect(
      run([
        dir.file("base.safetensors"), dir.file("adapter.safetensors"), "--dtype", "f16", "-o",
        dir.file("out.safetensors"),
      ]).status == 0)
    let out = try TensorReader(path: dir.file("out.safetensors"))
    #expect(out.info("blocks.0.mlp.fc1.weight")?.dtype == .f16)
    #expect(out.info("blocks.0.mlp.fc1.bias")?.dtype == .f16)
    #expect(out.info("steps")?.dtype == .i64)
  }

  @Test func unmergeRestoresF32BaseWithinOneUlp() throws {
    let dir = ScratchDirectory()
    let s = try makeSetup(dir)
    #expect(
      run([dir.file("base.safetensors"), dir.file("adapter.safetensors"), "-o", dir.file("merged.safetensors")]).status
        == 0)
    #expect(
      run([
        "--unmerge", dir.file("merged.safetensors"), dir.file("adapter.safetensors"), "-o",
        dir.file("back.safetensors"),
      ]).status == 0)
    let merged = try read(dir.file("merged.safetensors"), "blocks.0.mlp.fc1.weight")
    let back = try read(dir.file("back.safetensors"), "blocks.0.mlp.fc1.weight")
    #expect(merged != s.w1)
    for i in s.w1.indices {
      #expect(abs(back[i] - s.w1[i]) <= max(abs(s.w1[i]), abs(merged[i])).ulp)
    }
  }

  @Test func weightsScaleEachAdapterAndAddUp() throws {
    let dir = ScratchDirectory()
    let s = try makeSetup(dir)
    let args = [
      dir.file("base.safetensors"), dir.file("adapter.safetensors"), dir.file("adapter.safetensors"),
      "--weight", "0.25", "--weight=-1", "-o", dir.file("out.safetensors"),
    ]
    let result = run(args)
    #expect(result.status == 0, "\(result.standardError)")
    let got = try read(dir.file("out.safetensors"), "blocks.0.mlp.fc1.weight")
    for (g, w) in zip(got, reference(s.w1, s.a1, s.b1, rows: 6, columns: 5, rank: 3, factor: 2 * (0.25 - 1))) {
      #expect(abs(Double(g) - w) <= 2e-6 * max(1, abs(w)))
    }
    let wrongCount = run([
      dir.file("base.safetensors"), dir.file("adapter.safetensors"), "--weight", "1", "--weight", "2", "-o",
      dir.file("x.safetensors"),
    ])
    #expect(wrongCount.status == 64)
  }

  @Test func headWithNewRowsReplacesTheBaseHeadAndMetadataFollows() throws {
    let dir = ScratchDirectory()
    _ = try makeSetup(dir)
    var metadata = LoRASettings(rank: 3, alpha: 6).metadata
    metadata[AdapterFile.modelMetadataKey] = #"{"num_classes": "3"}"#
    let head = (0..<15).map { Float($0) }
    try write(
      dir.file("head.safetensors"),
      [
        (AdapterNames.full("head.weight"), .f32, [3, 5], head)
      ], metadata: metadata)
    #expect(
      run([dir.file("base.safetensors"), dir.file("head.safetensors"), "-o", dir.file("out.safetensors")]).status == 0)
    let out = try TensorReader(path: dir.file("out.safetensors"))
    #expect(out.info("head.weight")?.shape == [3, 5])
    #expect(try out.floats(of: "head.weight") == head)
    #expect(out.metadata["num_classes"] == "3")

    try write(
      dir.file("small.safetensors"), [(AdapterNames.full("head.weight"), .f32, [1, 5], [1, 2, 3, 4, 5])],
      metadata: metadata)
    let refused = run([dir.file("base.safetensors"), dir.file("small.safetensors"), "-o", dir.file("bad.safetensors")])
    #expect(refused.status == 2)
    #expect(refused.standardError.contains("head.weight"), "\(refused.standardError)")
  }

  @Test func refusalsNameTheProblemAndWriteNothing() throws {
    let dir = ScratchDirectory()
    _ = try makeSetup(dir)
    let settings = LoRASettings(rank: 3, alpha: 6).metadata
    try write(
      dir.file("missing.safetensors"),
      [
        (AdapterNames.loraA("blocks.7.mlp.fc1"), .f32, [3, 5], Array(repeating: 0, count: 15)),
        (AdapterNames.loraB("blocks.7.mlp.fc1"), .f32, [6, 3], Array(repeating: 0, count: 18)),
      ], metadata: settings)
    try write(
      dir.file("shape.safetensors"),
      [
        (AdapterNames.loraA("blocks.0.mlp.fc1"), .f32, [3, 4], Array(repeating: 0, count: 12)),
        (AdapterNames.loraB("blocks.0.mlp.fc1"), .f32, [6, 3], Array(repeating: 0, count: 18)),
      ], metadata: settings)
    try write(
      dir.file("lonely.safetensors"),
      [
        (AdapterNames.loraA("blocks.0.mlp.fc1"), .f32, [3, 5], Array(repeating: 0, count: 15))
      ], metadata: settings)
    try write(
      dir.file("nosettings.safetensors"),
      [
        (AdapterNames.loraA("blocks.0.mlp.fc1"), .f32, [3, 5], Array(repeating: 0, count: 15))
      ])
    let cases = [
      ("missing.safetensors", "blocks.7.mlp.fc1.weight"), ("shape.safetensors", "[3, 5]"),
      ("lonely.safetensors", "lora_B"), ("nosettings.safetensors", "no LoRA settings"),
    ]
    for (adapter, expected) in cases {
      let result = run([dir.file("base.safetensors"), dir.file(adapter), "-o", dir.file("out.safetensors")])
      #expect(result.status == 2, "\(adapter)")
      #expect(result.standardError.contains(expected), "\(adapter): \(result.standardError)")
      #expect(result.standardError.contains(adapter), "\(adapter): \(result.standardError)")
      #expect(!(dir.listing().contains { $0.hasPrefix("out") || $0.hasPrefix(".out") }), "\(dir.listing())")
    }
  }

  @Test func fingerprintMismatchIsRefusedUnlessForced() throws {
    let dir = ScratchDirectory()
    _ = try makeSetup(dir)
    var metadata = LoRASettings(rank: 3, alpha: 6).metadata
    metadata[BaseFingerprint.metadataKey] = "fnv1a64:0123456789abcdef"
    _ = try makeSetup(dir, adapterMetadata: metadata)
    let refused = run([
      dir.file("base.safetensors"), dir.file("adapter.safetensors"), "-o", dir.file("out.safetensors"),
    ])
    #expect(refused.status == 2)
    #expect(refused.standardError.contains("fnv1a64:0123456789abcdef"), "\(refused.standardError)")
    #expect(!FileManager.default.fileExists(atPath: dir.file("out.safetensors")))
    #expect(dir.listing().filter { $0.hasPrefix(".") } == [])
    let forced = run([
      dir.file("base.safetensors"), dir.file("adapter.safetensors"), "-f", "-o", dir.file("out.safetensors"),
    ])
    #expect(forced.status == 0, "\(forced.standardError)")
    #expect(forced.standardError.contains("merged anyway"), "\(forced.standardError)")
  }

  /// The fingerprint the merge computes while streaming equals the one the library computes from
  /// the file, and an adapter carrying it merges without -f.
  @Test func matchingFingerprintMerges() throws {
    let dir = ScratchDirectory()
    _ = try makeSetup(dir)
    let base = try TensorReader(path: dir.file("base.safetensors"))
    var fingerprint = BaseFingerprint()
    for info in base.tensors {
      let sample = info.dtype.isConvertibleFloat ? Array(try base.floats(of: info.name).prefix(8)) : nil
      fingerprint.add(name: info.name, shape: info.shape, sample: sample)
    }
    var metadata = LoRASettings(rank: 3, alpha: 6).metadata
    metadata[BaseFingerprint.metadataKey] = fingerprint.value
    _ = try makeSetup(dir, adapterMetadata: metadata)
    let result = run([dir.file("base.safetensors"), dir.file("adapter.safetensors"), "-o", dir.file("out.safetensors")])
    #expect(result.status == 0, "\(result.standardError)")
    #expect(result.standardError == "")
  }

  @Test func nonFiniteResultIsRefusedNamingTheTensor() throws {
    let dir = ScratchDirectory()
    _ = try makeSetup(dir)
    try write(
      dir.file("nan.safetensors"),
      [
        (AdapterNames.loraA("blocks.0.mlp.fc1"), .f32, [3, 5], Array(repeating: 1, count: 15)),
        (AdapterNames.loraB("blocks.0.mlp.fc1"), .f32, [6, 3], [.nan] + Array(repeating: 0, count: 17)),
      ], metadata: LoRASettings(rank: 3, alpha: 6).metadata)
    let result = run([dir.file("base.safetensors"), dir.file("nan.safetensors"), "-o", dir.file("out.safetensors")])
    #expect(result.status == 2)
    #expect(result.standardError.contains("blocks.0.mlp.fc1.weight"), "\(result.standardError)")
    #expect(!FileManager.default.fileExists(atPath: dir.file("out.safetensors")))
  }

  @Test func usageErrors() {
    #expect(run(["only-base.safetensors"]).status == 64)
    #expect(run(["-", "-"]).status == 64)
    #expect(run(["a", "b", "--dtype", "I8"]).status == 64)
    #expect(run(["a", "b", "--bogus"]).status == 64)
  }
}
