import SeededRandom
import Swap
import Tensors
import Testing

@testable import ViT

/// Dropout in the ViT: where it drops (against PyTorch with the same masks), that evaluation never does,
/// that p = 0 is the model without dropout to the bit, and that the masks are fixed by the key. The
/// gradient through the masks is also checked against finite differences in ModelGradientTests.
@Suite struct DropoutTests {
  /// Tests/Fixtures/vit-tiny-dropout (Scripts/make-dropout-fixture.py): timm's sites, LayerScale, every gradient.
  @Test func trainingStepMatchesPyTorchWithTheSameMasks() throws {
    let model = try Checkpoint.loadModel(try fixture("vit-tiny-dropout/model.safetensors").reader)
    #expect(model.config.layerScale)
    let (caseFile, c) = try fixture("vit-tiny-dropout/case.safetensors")
    let key = UInt64(caseFile.metadata["key"] ?? "") ?? 0, p = Float(caseFile.metadata["probability"] ?? "") ?? 0
    let labels = c["labels"]!.scalars.map { Int($0) }
    model.setTrainable(.all)
    model.zeroGradients()
    let logits = model.forward(c["images"]!, training: true, dropout: Dropout(probability: p, key: key))
    var errors: [(String, Double)] = [("logits", GradientCheck.scaledError(logits, c["logits"]!))]
    let dLogits = Tensor(shape: logits.shape)
    let loss = crossEntropy(logits: logits, rows: 0..<labels.count, labels: labels, gradient: dLogits)
    errors.append(("loss", GradientCheck.scaledError(Tensor(shape: [1], values: [loss]), c["loss"]!)))
    model.backward(dLogits)
    for p in model.parameters {
      errors.append(("grad " + p.name, GradientCheck.scaledError(p.gradient!, c["grad." + p.name]!)))
    }
    errors.append(
      ("evaluation logits", GradientCheck.scaledError(model.forward(c["images"]!), c["evaluation_logits"]!)))
    let worst = errors.max { $0.1 < $1.1 }!
    print("vit-tiny-dropout vs PyTorch: \(errors.count) tensors, largest relative error \(worst.1) (\(worst.0))")
    for (name, e) in errors where e >= 1e-4 { Issue.record("\(name): relative error \(e)") }
  }

  func images() -> Tensor {
    var rng = SeededGenerator(seed: 5)
    return Tensor.uniform(shape: [2, 2, 8, 8], low: -1, high: 1, generator: &rng)
  }

  @Test func zeroProbabilityGivesTheBitsOfNoDropout() {
    let model = tinyModel()
    model.setTrainable(.all)
    let plain = model.forward(images(), training: true).scalars
    model.zeroGradients()
    model.backward(Tensor(shape: [2, 3], repeating: 0.5))
    let gradients = model.parameters.map { $0.gradient!.scalars }
    let zero = model.forward(images(), training: true, dropout: Dropout(probability: 0, key: 9)).scalars
    model.zeroGradients()
    model.backward(Tensor(shape: [2, 3], repeating: 0.5))
    #expect(plain == zero)
    #expect(gradients == model.parameters.map { $0.gradient!.scalars })
  }

  @Test func masksAreFixedByTheKeyAndEvaluationNeverDrops() {
    let model = tinyModel()
    let evaluation = model.forward(images()).scalars
    #expect(model.forward(images(), training: true).scalars == evaluation)
    let a = model.forward(images(), training: true, dropout: Dropout(probability: 0.1, key: 1)).scalars
    let again = model.forward(images(), training: true, dropout: Dropout(probability: 0.1, key: 1)).scalars
    let other = model.forward(images(), training: true, dropout: Dropout(probability: 0.1, key: 2)).scalars
    #expect(a == again)
    #expect(a != other && a != evaluation)
    // A training forward with dropout leaves nothing behind that an evaluation would see.
    #expect(model.forward(images()).scalars == evaluation)
  }
}
