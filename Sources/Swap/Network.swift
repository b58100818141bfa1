// What the swap loops need from a classifier, so the loops do not depend on one network's internals:
// the ViT with LoRA implements it for the tools (ViTNetwork), and a tiny network implements it in tests.
// Parameters are the engine's (`ViT.Parameter`: a value tensor and, while trainable, a gradient).

import SeededRandom
import Tensors
import ViT

public protocol SwapNetwork: AnyObject {
  /// The parameters the optimiser updates, in a fixed order; each has a gradient.
  var trainable: [Parameter] { get }
  /// The group-sparse groups (for LoRA: one block's four matrices each); may be empty.
  var sparseGroups: [[Parameter]] { get }
  /// Logits (B, classes) of normalised images (B, C, H, W), pixel logits (B, classes, H, W) for a
  /// segmentation network, or dense outputs (B, Hp, Wp, classes + 5) for a detection network
  /// (`DetectionOutputs`), keeping what `backward` needs, with `dropout`'s masks where the network has
  /// dropout. The result belongs to the network and is overwritten by the next call.
  func trainingForward(_ images: Tensor, dropout: Dropout?) -> Tensor
  /// Adds d(loss)/d(parameter) for the last `trainingForward` into each trainable parameter's gradient.
  func backward(_ dLogits: Tensor)
  /// Logits for evaluation (no state kept); overwritten by the next call.
  func logits(_ images: Tensor) -> Tensor
}

extension Parameter {
  /// timm decays matrices (and convolutions), not biases, norms or embeddings of rank 1.
  var decaysInAdamW: Bool { value.rank >= 2 && !name.hasSuffix("pos_embed") && !name.hasSuffix("cls_token") }

  /// The gradient, which a trainable parameter always has.
  var requiredGradient: Tensor {
    guard let gradient else { preconditionFailure("\(name) is not trainable") }
    return gradient
  }
}

/// A trainer's dropout: each step's masks are fixed by the run's seed, a purpose (which trainer) and the
/// step's index (the optimiser's step count, which a training state file saves and restores), not by a
/// running generator, so a resumed run drops what an uninterrupted one dropped.
struct DropoutSchedule {
  let probability: Float
  let root: SeededGenerator

  init(probability: Float, seed: UInt64, purpose: String) {
    self.probability = probability
    root = SeededGenerator(seed: seed).derived(purpose)
  }

  /// The masks of step `step` (0-based); nil when p = 0.
  func masks(step: Int) -> Dropout? {
    guard probability > 0 else { return nil }
    var generator = root.derived("step \(step)")
    return Dropout(probability: probability, key: generator.next())
  }
}

/// A tensor reused from step to step while the shape stays the same (every batch but an epoch's
/// last, shorter one), so a training step allocates nothing.
final class ReusedTensor {
  private var tensor = Tensor(shape: [0])

  func shaped(_ shape: [Int]) -> Tensor {
    if tensor.shape != shape { tensor = Tensor(shape: shape) }
    return tensor
  }
}
