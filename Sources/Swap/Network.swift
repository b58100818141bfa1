// What the swap loops need from a classifier, so the loops do not depend on one network's internals:
// the ViT with LoRA implements it for the tools (ViTNetwork), and a tiny network implements it in tests.
// Parameters are the engine's (`ViT.Parameter`: a value tensor and, while trainable, a gradient).

import Tensors
import ViT

public protocol SwapNetwork: AnyObject {
  /// The parameters the optimiser updates, in a fixed order; each has a gradient.
  var trainable: [Parameter] { get }
  /// The group-sparse groups (for LoRA: one block's four matrices each); may be empty.
  var sparseGroups: [[Parameter]] { get }
  /// Logits (B, classes) of normalised images (B, C, H, W), keeping what `backward` needs. The
  /// result belongs to the network and is overwritten by the next call.
  func trainingForward(_ images: Tensor) -> Tensor
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

/// A tensor reused from step to step while the shape stays the same (every batch but an epoch's
/// last, shorter one), so a training step allocates nothing.
final class ReusedTensor {
  private var tensor = Tensor(shape: [0])

  func shaped(_ shape: [Int]) -> Tensor {
    if tensor.shape != shape { tensor = Tensor(shape: shape) }
    return tensor
  }
}
