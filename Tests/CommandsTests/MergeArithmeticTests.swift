// The merge arithmetic and adapter settings against independent references: a float64 product,
// PEFT's scaling and pattern rules, and the fingerprint computed by Formats/adapter.md's Python.

import TensorFile
import Testing
import WeightSurgery

@Suite struct MergeArithmeticTests {
  /// A deterministic generator so failures reproduce.
  struct Random {
    var state: UInt64
    mutating func next() -> Float {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return Float(Int64(bitPattern: state >> 11) % 2_000_001 - 1_000_000) / 1_000_000
    }
    mutating func array(_ n: Int, scale: Float = 1) -> [Float] { (0..<n).map { _ in next() * scale } }
  }

  @Test func updateMatchesFloat64Reference() {
    var random = Random(state: 7)
    let rows = 13, columns = 37
    let w = random.array(rows * columns)
    let t1 = LowRankTerm(rank: 4, a: random.array(4 * columns), b: random.array(rows * 4), factor: 16.0 / 4)
    let t2 = LowRankTerm(
      rank: 2, a: random.array(2 * columns), b: random.array(rows * 2), factor: -0.5 * 8 / 2.0.squareRoot().float)
    var merged = w
    merged.withUnsafeMutableBufferPointer { LowRankUpdate.apply([t1, t2], to: $0, rows: rows, columns: columns) }
    for o in 0..<rows {
      for i in 0..<columns {
        var expected = Double(w[o * columns + i])
        for t in [t1, t2] {
          var dot = 0.0
          for k in 0..<t.rank { dot += Double(t.b[o * t.rank + k]) * Double(t.a[k * columns + i]) }
          expected += Double(t.factor) * dot
        }
        #expect(abs(Double(merged[o * columns + i]) - expected) <= 2e-6 * max(1, abs(expected)), "row \(o) col \(i)")
      }
    }
  }

  /// In float32, unmerge(merge(W)) is W up to one rounding of W + delta: each element is within one
  /// ulp of max(|W|, |W'|), and exact wherever the delta is exactly representable at W's scale.
  @Test func unmergeRestoresBaseWithinOneUlp() {
    var random = Random(state: 11)
    let rows = 64, columns = 48
    let w = random.array(rows * columns, scale: 0.02)
    let term = LowRankTerm(rank: 8, a: random.array(8 * columns), b: random.array(rows * 8, scale: 0.01), factor: 2)
    var merged = w
    merged.withUnsafeMutableBufferPointer { LowRankUpdate.apply([term], to: $0, rows: rows, columns: columns) }
    #expect(merged != w)
    var restored = merged
    restored.withUnsafeMutableBufferPointer {
      LowRankUpdate.apply([term], to: $0, rows: rows, columns: columns, sign: -1)
    }
    var exact = 0
    for i in w.indices {
      let bound = max(abs(w[i]), abs(merged[i])).ulp
      #expect(abs(restored[i] - w[i]) <= bound, "element \(i)")
      if restored[i] == w[i] { exact += 1 }
    }
    #expect(exact > w.count / 2)
  }

  @Test func frobeniusNormOfProductMatchesDirectProduct() {
    var random = Random(state: 3)
    let rows = 9, columns = 17, r = 3
    let a = random.array(r * columns), b = random.array(rows * r)
    var direct = 0.0
    for o in 0..<rows {
      for i in 0..<columns {
        var dot = 0.0
        for k in 0..<r { dot += Double(b[o * r + k]) * Double(a[k * columns + i]) }
        direct += dot * dot
      }
    }
    #expect(
      abs(LowRankUpdate.frobeniusNorm(rank: r, a: a, b: b, rows: rows, columns: columns) - direct.squareRoot()) <= 1e-9)
  }

  /// LoRA settings from adapter_config.json text.
  func loraSettings(_ text: String) throws -> LoRASettings {
    try LoRASettings(config: JSON(parsing: text, file: "c.json"), file: "c.json")
  }

  @Test func scaleFollowsPEFT() throws {
    let plain = try loraSettings(#"{"r": 8, "lora_alpha": 16}"#)
    #expect(try plain.scale(module: "blocks.0.mlp.fc1", rank: 8, file: "a") == 2)
    let rs = try loraSettings(#"{"r": 16, "lora_alpha": 8, "use_rslora": true}"#)
    #expect(try rs.scale(module: "blocks.0.mlp.fc1", rank: 16, file: "a") == 2)
  }

  @Test func patternsTakeTheFirstMatchingKeyInFileOrder() throws {
    let settings = try loraSettings(
      #"""
      {"r": 8, "lora_alpha": 8, "rank_pattern": {"blocks.1.mlp.fc2": 4, "fc2": 2},
       "alpha_pattern": {"fc2": 6, "blocks\\.1\\..*": 100}}
      """#)
    #expect(try settings.scale(module: "blocks.1.mlp.fc2", rank: 4, file: "a") == 6.0 / 4)
    #expect(try settings.scale(module: "blocks.0.mlp.fc2", rank: 2, file: "a") == 6.0 / 2)
    #expect(try settings.scale(module: "blocks.1.mlp.fc1", rank: 8, file: "a") == 100.0 / 8)
    #expect(try settings.scale(module: "blocks.0.mlp.fc1", rank: 8, file: "a") == 1)
    // "fc2" must match a whole name component: "xfc2" is another module.
    #expect(try settings.scale(module: "blocks.0.mlp.xfc2", rank: 8, file: "a") == 1)
    #expect(
      throws: SurgeryError(
        .invalidSettings, "a", "module blocks.0.mlp.fc2: the LoRA matrices have rank 8 but r / rank_pattern says 2")
    ) {
      try settings.scale(module: "blocks.0.mlp.fc2", rank: 8, file: "a")
    }
  }

  @Test func settingsRefuseWhatTheyCannotMerge() throws {
    func kind(_ text: String) -> SurgeryError.Kind? {
      (#expect(throws: SurgeryError.self) { try loraSettings(text) })?.kind
    }
    #expect(kind(#"{"r": 0, "lora_alpha": 1}"#) == .invalidSettings)
    #expect(kind(#"{"peft_type": "IA3"}"#) == .unsupported)
    #expect(kind(#"{"rank_pattern": {"(": 2}}"#) == .invalidSettings)
    #expect(kind("[]") == .invalidSettings)
    let noAlpha = try loraSettings(#"{"r": 4}"#)
    #expect(throws: SurgeryError(.invalidSettings, "a", LoRASettings.missingAlpha)) {
      try noAlpha.scale(module: "m", rank: 4, file: "a")
    }
  }

  @Test func settingsRoundTripThroughMetadata() throws {
    var settings = LoRASettings(rank: 8, alpha: 16, useRSLoRA: true)
    settings.targetModules = ["mlp.fc1", "mlp.fc2"]
    settings.modulesToSave = ["head"]
    settings.rankPattern = [("blocks.11.mlp.fc2", 4)]
    settings.alphaPattern = [("fc2", 32)]
    #expect(settings.metadata["r"] == "8")
    #expect(settings.metadata["target_modules"] == #"["mlp.fc1","mlp.fc2"]"#)
    #expect(try LoRASettings(metadata: settings.metadata, file: "a") == settings)
    #expect(try LoRASettings(metadata: ["format": "pt"], file: "a") == nil)
  }

  @Test func adapterNameRoles() {
    #expect(
      AdapterNames.role(of: "base_model.model.blocks.0.mlp.fc1.lora_A.weight") == .loraA(module: "blocks.0.mlp.fc1"))
    #expect(
      AdapterNames.role(of: "base_model.model.blocks.0.mlp.fc1.lora_B.weight") == .loraB(module: "blocks.0.mlp.fc1"))
    #expect(AdapterNames.role(of: "base_model.model.head.weight") == .full(baseName: "head.weight"))
    for name in [
      "base_model.model.blocks.0.mlp.fc1.lora_B.bias", "base_model.model.emb.lora_embedding_A",
      "base_model.model.blocks.0.mlp.fc1.lora_magnitude_vector", "blocks.0.mlp.fc1.weight",
    ] {
      guard case .unsupported = AdapterNames.role(of: name) else {
        Issue.record(Comment(rawValue: name))
        return
      }
    }
    #expect(AdapterNames.loraA("head") == "base_model.model.head.lora_A.weight")
  }

  /// The expected value comes from the Python function in Formats/adapter.md on the same tensors.
  @Test func fingerprintMatchesTheSpecsPython() {
    var fingerprint = BaseFingerprint()
    fingerprint.add(name: "steps", shape: [], sample: nil)
    fingerprint.add(name: "head.weight", shape: [3, 4], sample: (0..<12).map { Float($0) * 0.5 - 1 })
    fingerprint.add(name: "cls_token", shape: [1], sample: [Float(Double(1e-3))])
    fingerprint.add(name: "blocks.0.mlp.fc1.weight", shape: [2, 2], sample: [1, -2, 0.25, 3])
    #expect(fingerprint.value == "fnv1a64:bc2ca7f7d3da7eb7")
  }

  @Test func jsonKeepsKeyOrderAndEscapes() throws {
    let value = try JSON(parsing: #"{"b": [1, 2.5, true, null], "a": "x\"\u00e9\n"}"#, file: "j")
    #expect(value.text() == #"{"b":[1,2.5,true,null],"a":"x\"é\n"}"#)
    #expect(throws: TensorFileError(.invalidJSON, file: "j", "invalid JSON: expected ',' or '}' at byte 7")) {
      try JSON(parsing: #"{"a": 1"#, file: "j")
    }
    #expect(throws: TensorFileError(.invalidJSON, file: "j", "invalid JSON: trailing characters at byte 4")) {
      try JSON(parsing: "[1] x", file: "j")
    }
  }
}

extension Double {
  var float: Float { Float(self) }
}
