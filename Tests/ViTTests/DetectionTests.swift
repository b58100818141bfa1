import Foundation
import SeededRandom
import Swap
import TensorFile
import Tensors
import Testing
import WeightSurgery

@testable import ViT

@Suite struct DetectionTests {
  /// The fixture's targets: rows (image, x0, y0, x1, y1, label) as one list of boxes per image.
  static func targets(_ rows: Tensor, images: Int) -> [[LabeledBox]] {
    var targets = [[LabeledBox]](repeating: [], count: images)
    for r in 0..<rows.shape[0] {
      let v = Array(rows.scalars[(r * 6)..<(r * 6 + 6)])
      targets[Int(v[0])].append(LabeledBox(box: Box(x0: v[1], y0: v[2], x1: v[3], y1: v[4]), label: Int(v[5])))
    }
    return targets
  }

  /// The dense head, its loss and decoding against PyTorch (Tests/Fixtures/vit-tiny-detection, made by
  /// Scripts/make-detection-fixture.py): 16x12 images, LoRA on the blocks, overlapping, tied, tiny and
  /// border boxes, an image without boxes.
  @Test func headLossAndDecodingMatchPyTorch() throws {
    let model = try Checkpoint.loadModel(try fixture("vit-tiny-detection/model.safetensors").reader)
    #expect(model.config.task == .detection && model.config.classes == 3 && model.boxHead?.outFeatures == 5)
    let (adapterFile, adapter) = try fixture("vit-tiny-detection/adapter.safetensors")
    let rank = Float(adapterFile.metadata["r"] ?? "") ?? 0, alpha = Float(adapterFile.metadata["lora_alpha"] ?? "") ?? 0
    try model.loadLoRA(adapter, scaling: alpha / rank)
    let (_, c) = try fixture("vit-tiny-detection/case.safetensors")
    let targets = Self.targets(c["targets"]!, images: 3)

    model.setTrainable(.all)
    model.zeroGradients()
    let outputs = model.forward(c["images"]!, training: true)
    #expect(outputs.shape == [3, 4, 3, 8])
    var errors: [(String, Double)] = [("outputs", GradientCheck.scaledError(outputs, c["outputs"]!))]
    let dOutputs = Tensor(shape: outputs.shape)
    let loss = detectionLoss(outputs: outputs, images: 0..<3, targets: targets, stride: 4, gradient: dOutputs)
    #expect(loss.positives == Int(c["positives"]!.scalars[0]))
    let parts = Tensor(shape: [4], values: [loss.total, loss.classification, loss.box, loss.centerness])
    errors.append(("loss and its parts", GradientCheck.scaledError(parts, c["loss"]!)))
    errors.append(("grad outputs", GradientCheck.scaledError(dOutputs, c["grad.outputs"]!)))
    model.backward(dOutputs)
    let parameterGradients = c.keys.filter { $0.hasPrefix("grad.") && $0 != "grad.outputs" }.sorted()
    #expect(parameterGradients.count == 18)
    for key in parameterGradients {
      let name = String(key.dropFirst("grad.".count)).replacingOccurrences(of: AdapterNames.prefix, with: "")
      guard let gradient = model.parameter(named: name)?.gradient else {
        Issue.record("the model has no gradient for \(name)")
        continue
      }
      errors.append(("grad " + name, GradientCheck.scaledError(gradient, c[key]!)))
    }
    let worst = errors.max { $0.1 < $1.1 }!
    print("vit-tiny-detection vs PyTorch: \(errors.count) tensors, largest relative error \(worst.1) (\(worst.0))")
    for (name, e) in errors where e >= 1e-5 { Issue.record("\(name): relative error \(e)") }

    // Decoding the same outputs with the fixture's settings gives PyTorch's detections.
    let s = c["decoding"]!.scalars
    let settings = DetectionDecoding(
      scoreThreshold: s[0], candidates: Int(s[1]), iouThreshold: s[2], maxDetections: Int(s[3]))
    let detections = decodeDetections(c["outputs"]!, stride: 4, settings: settings)
    let expected = c["detections"]!
    let rows = detections.enumerated().flatMap { image, boxes in
      boxes.map { d in [Float(image), d.box.x0, d.box.y0, d.box.x1, d.box.y1, d.score, Float(d.label)] }
    }
    #expect(rows.count == expected.shape[0])
    if rows.count == expected.shape[0] {
      let got = Tensor(shape: expected.shape, values: rows.flatMap { $0 })
      #expect(GradientCheck.scaledError(got, expected) < 1e-6)
    }
    // Each step of the decoding removed something here: the top-k, the suppression, the cap.
    var wider = settings
    wider.candidates = 1000
    wider.maxDetections = 1000
    let uncapped = decodeDetections(c["outputs"]!, stride: 4, settings: wider)
    wider.iouThreshold = 1
    let unsuppressed = decodeDetections(c["outputs"]!, stride: 4, settings: wider)
    #expect(uncapped.map(\.count).reduce(0, +) > rows.count)
    #expect(unsuppressed.map(\.count).reduce(0, +) > uncapped.map(\.count).reduce(0, +))
  }

  /// Finite differences through the whole model (tokens -> class logits, boxes, centerness -> loss):
  /// LoRA on the blocks, the head and the box branch; non-square images; an image without boxes.
  @Test func wholeHeadPathMatchesFiniteDifferences() {
    let model = tinyModel(task: .detection)
    #expect(model.boxHead != nil)
    var rng = SeededGenerator(seed: 5)
    model.addLoRA(
      LoRAConfig(rank: 2, alpha: 4, targetModules: ["mlp.fc1", "mlp.fc2", "head", "box_head"]), generator: &rng)
    randomBs(model, seed: 8)
    #expect(model.head?.lora != nil && model.boxHead?.lora != nil)
    let images = Tensor.uniform(shape: [3, 2, 8, 12], low: -1, high: 1, generator: &rng)
    // No predicted side lies within 0.05 patches of its true side: differences of ±1e-2 would straddle GIoU's
    // kinks there (min and max switching sides).
    let targets = [
      [
        LabeledBox(box: Box(x0: 1, y0: 0.5, x1: 9.5, y1: 7), label: 2),
        LabeledBox(box: Box(x0: 6, y0: 3, x1: 12, y1: 8), label: 0),
      ],
      [],
      [LabeledBox(box: Box(x0: 2.5, y0: 1, x1: 5, y1: 3.5), label: 1)],
    ]
    func loss() -> Double {
      let outputs = model.forward(images, training: true)
      return Double(detectionLoss(outputs: outputs, images: 0..<3, targets: targets, stride: 4).total)
    }
    for set in [TrainableSet.all, .lora, .loraAnd(["head", "box_head"])] {
      model.setTrainable(set)
      model.zeroGradients()
      let outputs = model.forward(images, training: true)
      #expect(outputs.shape == [3, 2, 3, 8])
      let dOutputs = Tensor(shape: outputs.shape)
      let value = detectionLoss(outputs: outputs, images: 0..<3, targets: targets, stride: 4, gradient: dOutputs)
      #expect(value.positives > 0 && value.box > 0 && value.centerness > 0)
      model.backward(dOutputs)
      let parameters = model.trainableParameters
      var worst = ("", 0.0)
      for p in parameters {
        let e = GradientCheck.largestError(of: [p.value], analytic: [p.gradient!.copy()], epsilon: 1e-2, loss: loss)
        if e > worst.1 { worst = (p.name, e) }
      }
      print("detection, \(set): \(parameters.count) tensors, largest relative error \(worst.1) (\(worst.0))")
      #expect(worst.1 < 1e-2, "\(set): \(worst.0)")
    }
  }

  /// Each image's outputs depend on that image only, whatever the batch, in training and inference.
  @Test func outputsArePerImage() {
    let model = tinyModel(task: .detection)
    var rng = SeededGenerator(seed: 4)
    let images = Tensor.uniform(shape: [3, 2, 12, 8], low: -1, high: 1, generator: &rng)
    let batch = model.forward(images, training: true).scalars
    let perImage = 3 * 2 * 8
    for i in 0..<3 {
      let one = Tensor(shape: [1, 2, 12, 8])
      one.pointer.update(from: images.pointer + i * 2 * 12 * 8, count: 2 * 12 * 8)
      let alone = model.forward(one)
      #expect(alone.shape == [1, 3, 2, 8])
      let expected = Tensor(shape: [perImage], values: Array(batch[(i * perImage)..<((i + 1) * perImage)]))
      #expect(GradientCheck.scaledError(alone, expected) < 1e-6)
    }
    // The box distances are positive; the class logits are the head's on each patch token.
    let outputs = model.forward(images)
    for row in 0..<(outputs.count / 8) {
      for j in 3..<7 { #expect(outputs.pointer[row * 8 + j] > 0) }
    }
    let tokens = model.forwardTokens(images)
    let head = model.head!, patch = Tensor(shape: [1, 8])
    patch.pointer.update(from: tokens.pointer + (2 * 7 + 1 + 4) * 8, count: 8)  // image 2, patch (2, 0)
    let logits = Tensor(shape: [1, 3])
    head.forward(x: patch.pointer, y: logits.pointer, rows: 1, training: false)
    let fromOutputs = Array(outputs.scalars[((2 * 6 + 4) * 8)..<((2 * 6 + 4) * 8 + 3)])
    #expect(zip(logits.scalars, fromOutputs).allSatisfy { abs($0 - $1) < 1e-5 })
  }

  @Test func taskAndBoxBranchRoundTripThroughTheModelFile() throws {
    let model = tinyModel(task: .detection)
    let metadata = Checkpoint.modelMetadata(model)
    #expect(metadata["task"] == "detection")
    #expect(Set(model.baseTensors().keys).isSuperset(of: ["box_head.weight", "box_head.bias"]))
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("kswap-det-\(getpid()).safetensors").path
    defer { try? FileManager.default.removeItem(atPath: path) }
    try Checkpoint.saveModel(model, to: path)
    let reader = try TensorReader(path: path)
    #expect(reader.metadata["task"] == "detection" && reader.info("box_head.weight")?.shape == [5, 8])
    let again = try Checkpoint.loadModel(reader)
    #expect(again.config == model.config && again.config.task == .detection)
    var rng = SeededGenerator(seed: 1)
    let images = Tensor.uniform(shape: [2, 2, 8, 8], low: -1, high: 1, generator: &rng)
    #expect(again.forward(images).scalars == model.forward(images).scalars)

    // LoRA on the head and the box branch merges like any Linear's.
    model.addLoRA(LoRAConfig(rank: 2, alpha: 4, targetModules: ["head", "box_head"]), generator: &rng)
    randomBs(model, seed: 3)
    let adapted = model.forward(images).copy()
    #expect(GradientCheck.scaledError(adapted, again.forward(images)) > 1e-2)
    model.mergeLoRA()
    #expect(model.boxHead?.lora == nil && GradientCheck.scaledError(model.forward(images), adapted) < 1e-5)

    // The box branch belongs to detection models only.
    var tensors = model.baseTensors()
    var classifier = model.config
    classifier.task = .classification
    #expect(throws: ViTError.unexpectedTensor("box_head.bias")) {  // the first by name
      try VisionTransformer(config: classifier, tensors: tensors)
    }
    tensors["box_head.bias"] = nil
    #expect(throws: ViTError.missingTensor("box_head.bias")) {
      try VisionTransformer(config: model.config, tensors: tensors)
    }
    tensors["box_head.bias"] = Tensor(shape: [4])
    #expect(throws: ViTError.shapeMismatch(name: "box_head.bias", expected: [5], actual: [4])) {
      try VisionTransformer(config: model.config, tensors: tensors)
    }
  }

  /// Fresh class rows start at the prior probability 0.01 on every patch (FCOS's and DINO's init), in a
  /// model from scratch and in rows appended for new classes; a classifier's stay at bias 0.
  @Test func freshClassRowsStartAtThePriorProbability() {
    var rng = SeededGenerator(seed: 2)
    let config = ViTConfig(
      imageSize: 8, patchSize: 4, channels: 2, dim: 8, depth: 1, heads: 2, classes: 3, task: .detection)
    let model = VisionTransformer(config: config, generator: &rng)
    let prior = DetectionOutputs.priorBias
    #expect(abs(1 / (1 + exp(-prior)) - 0.01) < 1e-6)
    #expect(model.head!.bias!.value.scalars == [prior, prior, prior])
    #expect(model.boxHead!.bias!.value.scalars == [0, 0, 0, 0, 0])
    model.head!.bias!.value.pointer[1] = 0.5
    model.appendHeadRows(2, generator: &rng)
    #expect(model.head!.bias!.value.scalars == [prior, 0.5, prior, prior, prior])
    let classifier = tinyModel()
    classifier.appendHeadRows(2, generator: &rng)
    #expect(classifier.head!.bias!.value.scalars.suffix(2) == [0, 0])
  }
}
