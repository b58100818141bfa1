// What the swap loops need from a classifier, so the loops do not depend on one network's internals:
// the ViT with LoRA implements it for the tools (ViTNetwork), and a tiny network implements it in tests.
// Parameters are the engine's (`ViT.Parameter`: a value tensor and, while trainable, a gradient).

import Tensors
import ViT

public protocol SwapNetwork: AnyObject {
  /// Number of output classes (logits per image).
  var classCount: Int { get }
  /// The parameters the optimiser updates, in a fixed order; each has a gradient.
  var trainable: [Parameter] { get }
  /// The group-sparse groups (for LoRA: one block's four matrices each); may be empty.
  var sparseGroups: [[Parameter]] { get }
  /// Logits (B x classCount) for normalised images of `shape` (B, C, H, W), keeping what `backward` needs.
  func trainingForward(_ images: [Float], shape: [Int]) -> [Float]
  /// Adds d(loss)/d(parameter) for the last `trainingForward` into each trainable parameter's gradient.
  func backward(_ logitGradient: [Float])
  /// Logits for evaluation (no state kept).
  func logits(_ images: [Float], shape: [Int]) -> [Float]
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
