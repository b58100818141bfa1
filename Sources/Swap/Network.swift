// What the swap loops need from a classifier, so the loops do not depend on one network's internals:
// the ViT with LoRA implements it for the tools, and a tiny network implements it in tests.

/// One trainable tensor: its values, its gradient (accumulated by `backward`) and whether AdamW
/// decays it (timm decays matrices, not biases or other 1-D tensors).
public final class Parameter {
  public let name: String
  public let shape: [Int]
  public var value: [Float]
  public var gradient: [Float]
  public let decays: Bool

  public init(name: String, shape: [Int], value: [Float], decays: Bool? = nil) {
    precondition(shape.reduce(1, *) == value.count, "\(name): shape does not match values")
    self.name = name
    self.shape = shape
    self.value = value
    gradient = [Float](repeating: 0, count: value.count)
    self.decays = decays ?? (shape.count >= 2)
  }

  public func zeroGradient() {
    for i in gradient.indices { gradient[i] = 0 }
  }
}

public protocol SwapNetwork: AnyObject {
  /// Number of output classes (logits per image).
  var classCount: Int { get }
  /// Elements of one input image (C * H * W).
  var imageSize: Int { get }
  /// The parameters the optimiser updates, in a fixed order.
  var trainable: [Parameter] { get }
  /// The group-sparse groups (for LoRA: one block's four matrices each); may be empty.
  var sparseGroups: [[Parameter]] { get }
  /// Logits (count x classCount) for `count` normalised images, keeping what `backward` needs.
  func trainingForward(_ images: [Float], count: Int) -> [Float]
  /// Adds d(loss)/d(parameter) for the last `trainingForward` into each trainable parameter's gradient.
  func backward(_ logitGradient: [Float])
  /// Logits for evaluation (no state kept).
  func logits(_ images: [Float], count: Int) -> [Float]
}
