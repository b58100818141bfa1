import Foundation
import Swap
import TensorFile
import Tensors
import Testing
import ViT
import WeightSurgery

// The training step kswap-learn and kswap-forget run, against PyTorch (Tests/Fixtures/swap-step, made by
// Scripts/make-step-fixtures.py; CI does not run the script, the fixtures are committed): a ViT with LoRA on
// every block's fc1/fc2 (B non-zero), a joined batch (stage rows, then retain rows), the stage objective,
// its gradient in every trainable matrix, and the values after two AdamW steps on the same batch.
// The fixture is plain named tensors; all use of the Swap and ViT API is in `runProductSteps`.

private let stepFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
  .appendingPathComponent("Fixtures/swap-step")

private func readFixture(_ name: String) throws -> (metadata: [String: String], tensors: [String: Tensor]) {
  let reader = try TensorReader(path: stepFixtures.appendingPathComponent(name).path)
  return (reader.metadata, try Checkpoint.readTensors(reader))
}

/// One case's inputs, as the fixture gives them.
private struct StepCase {
  var kind: StageKind
  var trainHead: Bool
  var images: [Float]
  var imageShape: [Int]  // (C, H, W)
  var labels: [Int]
  var stageRows: Int
  var weights: LossWeights
  var rate: Float
  var weightDecay: Float
}

/// Runs the product code on a case: builds the model from the fixture's base and adapter, then two
/// training steps as `StageTrainer.runEpoch` takes them (`computeGradients` on the joined batch, then the
/// trainer's optimizer update). Returns tensors named as the fixture names its references: `terms<k>` =
/// [stage CE, retain CE, group-sparse, total] before step k, `grad<k>.<p>` the gradient computed there,
/// `after<k>.<p>` the value after the update. With `replacing`, each step's update uses that gradient
/// (`grad<k>.<p>`) instead of the computed one, to check the optimizer on its own.
/// This is the only function that touches the Swap and ViT API (adapt it when the API changes; it mirrors
/// `StageTrainer.trainStep`, so a change there belongs here too).
private func runProductSteps(
  _ c: StepCase, model modelFile: (metadata: [String: String], tensors: [String: Tensor]),
  adapter: (metadata: [String: String], tensors: [String: Tensor]),
  replacing gradients: [String: Tensor]? = nil
) throws -> [String: Tensor] {
  let config = try Checkpoint.config(metadata: modelFile.metadata, shapes: modelFile.tensors.mapValues(\.shape))
  let model = try VisionTransformer(config: config, tensors: modelFile.tensors)
  let rank = Float(adapter.metadata["r"]!)!, loraAlpha = Float(adapter.metadata["lora_alpha"]!)!
  try model.loadLoRA(adapter.tensors, scaling: loraAlpha / rank)
  let network = ViTNetwork(model: model)
  network.setTrainable(c.trainHead ? .loraAnd(["head"]) : .lora)

  let size = c.imageShape.reduce(1, *)
  let (channels, height, width) = (c.imageShape[0], c.imageShape[1], c.imageShape[2])
  func set(_ rows: Range<Int>) -> LabeledImages {
    LabeledImages(
      pixels: .floats(Array(c.images[(rows.lowerBound * size)..<(rows.upperBound * size)])),
      labels: Array(c.labels[rows]), channels: channels, height: height, width: width,
      mean: Array(repeating: 0, count: channels), std: Array(repeating: 1, count: channels))
  }
  let stageSet = set(0..<c.stageRows), retainSet = set(c.stageRows..<c.labels.count)
  var settings = StageSettings(kind: c.kind)
  settings.weights = c.weights
  settings.weightDecay = c.weightDecay
  settings.peakRate = c.rate
  settings.dropout = 0  // the fixture's PyTorch step has none
  let trainer = StageTrainer(network: network, settings: settings, stageSet: stageSet, retainSet: retainSet, seed: 0)

  var out: [String: Tensor] = [:]
  for step in 1...2 {
    let terms = trainer.computeGradients(
      stageIndices: Array(0..<stageSet.count), retainIndices: Array(0..<retainSet.count))
    out["terms\(step)"] = Tensor(shape: [4], values: [terms.stageCE, terms.retainCE, terms.groupSparse, terms.total])
    for p in network.trainable {
      out["grad\(step).\(p.name)"] = p.gradient!.copy()
      if let g = gradients?["grad\(step).\(p.name)"] { p.gradient!.pointer.update(from: g.pointer, count: g.count) }
    }
    trainer.state.optimizer.update(network.trainable, rate: c.rate)
    for p in network.trainable { out["after\(step).\(p.name)"] = p.value.copy() }
  }
  return out
}

private func difference(_ a: Tensor, _ b: Tensor) -> Tensor {
  Tensor(shape: a.shape, values: zip(a.scalars, b.scalars).map { $0 - $1 })
}

/// Per-element relative error of each loss term (they are scalars of different scales).
private func termErrors(_ a: Tensor, _ b: Tensor) -> [Double] {
  zip(a.scalars, b.scalars).map { abs(Double($0) - Double($1)) / max(abs(Double($1)), 1e-30) }
}

@Suite struct StepGoldenTests {
  static let tolerance = 1e-5
  static let cases = ["learn", "forget", "forget-past-bound", "learn-head"]

  typealias File = (metadata: [String: String], tensors: [String: Tensor])

  /// A case's inputs, its references, and the values before step 1 of its trainable parameters.
  private func load(_ name: String) throws -> (
    c: StepCase, ref: [String: Tensor], model: File, adapter: File,
    initial: [String: Tensor], names: [String]
  ) {
    let model = try readFixture("model.safetensors"), adapter = try readFixture("adapter.safetensors")
    let (meta, ref) = try readFixture(name + ".safetensors")
    let images = ref["images"]!
    let c = StepCase(
      kind: StageKind(rawValue: meta["kind"]!)!, trainHead: meta["train"] == "lora+head", images: images.scalars,
      imageShape: Array(images.shape.dropFirst()), labels: ref["labels"]!.scalars.map { Int($0) },
      stageRows: Int(meta["stage_rows"]!)!,
      weights: LossWeights(beta: Float(meta["beta"]!)!, alpha: Float(meta["alpha"]!)!, bound: Float(meta["bound"]!)!),
      rate: Float(meta["lr"]!)!, weightDecay: Float(meta["weight_decay"]!)!)
    // The base's values (head) and the adapter's (LoRA, PEFT prefix dropped).
    let initial = adapter.tensors.reduce(into: model.tensors) {
      $0[String($1.key.dropFirst(AdapterNames.prefix.count))] = $1.value
    }
    let names = ref.keys.filter { $0.hasPrefix("grad1.") }.map { String($0.dropFirst(6)) }.sorted()
    return (c, ref, model, adapter, initial, names)
  }

  func report(_ name: String, _ errors: [(String, Double)], kinds: [String]) {
    for kind in kinds {
      let worst = errors.filter { $0.0.hasPrefix(kind) }.max { $0.1 < $1.1 }!
      print("swap-step \(name) vs PyTorch: largest relative error in \(kind) \(worst.1) (\(worst.0))")
    }
    for (what, e) in errors where !(e < Self.tolerance) { Issue.record("\(name): \(what): relative error \(e)") }
  }

  /// The whole step: loss terms, every trainable gradient, and the values after one and two steps.
  @Test(arguments: cases) func stepMatchesPyTorch(_ name: String) throws {
    let (c, ref, model, adapter, initial, names) = try load(name)
    // The bounded term is active (CE(forget) < bound) in "forget" and inactive in "forget-past-bound".
    let bounded = ref["terms1"]!.scalars[0] < c.weights.bound
    #expect(c.kind == .learn || bounded == (name == "forget"))
    let got = try runProductSteps(c, model: model, adapter: adapter)
    let produced = got.keys.filter { $0.hasPrefix("grad1.") }.map { String($0.dropFirst(6)) }.sorted()
    #expect(produced == names, "trainable parameters differ from the fixture's")
    #expect(names.filter { $0.contains(".lora_") }.count == 8)
    #expect(names.contains("head.bias") == (name == "learn-head"))

    var errors: [(String, Double)] = []
    for step in 1...2 {
      for (term, e) in zip(
        ["stage CE", "retain CE", "group-sparse", "total"], termErrors(got["terms\(step)"]!, ref["terms\(step)"]!))
      {
        errors.append(("terms: step \(step) \(term)", e))
      }
    }
    for p in names {
      guard let g1 = got["grad1.\(p)"], let g2 = got["grad2.\(p)"], let a1 = got["after1.\(p)"],
        let a2 = got["after2.\(p)"]
      else {
        Issue.record("the product has no \(p)")
        continue
      }
      #expect(ref["grad1.\(p)"]!.scalars.contains { $0 != 0 }, "the fixture's \(p) has no gradient")
      let refAfter1 = Tensor(
        shape: a1.shape, values: zip(initial[p]!.scalars, ref["delta1.\(p)"]!.scalars).map { $0 + $1 })
      errors.append(("gradients: step 1 \(p)", GradientCheck.scaledError(g1, ref["grad1.\(p)"]!)))
      errors.append(("gradients: step 2 \(p)", GradientCheck.scaledError(g2, ref["grad2.\(p)"]!)))
      errors.append(("values: after step 1 \(p)", GradientCheck.scaledError(a1, refAfter1)))
      errors.append(("values: after step 2 \(p)", GradientCheck.scaledError(a2, ref["after2.\(p)"]!)))
    }
    #expect(errors.count == 8 + 4 * names.count)
    report(name, errors, kinds: ["terms", "gradients", "values"])
  }

  /// The optimizer alone, on the updates' own scale: each step's update (after - before) from PyTorch's
  /// gradients. (From its own float32 gradients the second update can differ by ~2e-4 of its scale, which is
  /// why the test above checks values, not updates: where an element's gradient changes sign between the
  /// steps, m = 0.09 g1 + 0.1 g2 nearly cancels and Adam's m/sqrt(v) amplifies the gradient's float32 noise.)
  @Test(arguments: cases) func adamWUpdatesMatchPyTorch(_ name: String) throws {
    let (c, ref, model, adapter, initial, names) = try load(name)
    let got = try runProductSteps(c, model: model, adapter: adapter, replacing: ref)
    var errors: [(String, Double)] = []
    for p in names {
      guard let a1 = got["after1.\(p)"], let a2 = got["after2.\(p)"] else {
        Issue.record("no \(p)")
        continue
      }
      errors.append(
        ("updates: step 1 \(p)", GradientCheck.scaledError(difference(a1, initial[p]!), ref["delta1.\(p)"]!)))
      errors.append(("updates: step 2 \(p)", GradientCheck.scaledError(difference(a2, a1), ref["delta2.\(p)"]!)))
    }
    report(name, errors, kinds: ["updates"])
  }
}
