// Fitting a linear head on a frozen backbone (kswap-pretrain --backbone). A frozen backbone gives every
// image the same class-token features in every epoch, so they are computed once, in one inference pass,
// and the head trains on them: the same SupervisedTrainer, batch order, loss and AdamW steps as training
// the whole ViT with only its head trainable, without a forward pass through the blocks per image and epoch.

import Foundation
import SeededRandom
import Tensors
import ViT

public enum HeadFit {
  /// Replaces the model's head (or gives a backbone one) with a fresh one for `classes` classes,
  /// initialised as the swap initialises new classes' rows (`appendHeadRows`: Xavier-uniform, bias 0).
  public static func attachFreshHead(to model: VisionTransformer, classes: Int, generator: inout SeededGenerator) {
    let width = model.config.dim
    model.head = Linear(name: "head", weight: Tensor(shape: [0, width]), bias: Tensor(shape: [0]))
    model.appendHeadRows(classes, generator: &generator)
  }

  /// The class-token features (after the final norm) of every image of `set`: one inference forward
  /// per image, in batches of `batchSize`. The result is a set of (D, 1, 1) "images" with the same
  /// labels and the identity normalisation, which `LinearHeadNetwork` reads. `progress` gets (done, total)
  /// after each batch.
  public static func classTokenFeatures(
    of set: LabeledImages, model: VisionTransformer, batchSize: Int = 256,
    progress: (Int, Int) -> Void = { _, _ in }
  ) -> LabeledImages {
    let width = model.config.dim
    var features = [Float](repeating: 0, count: set.count * width)
    let images = ReusedTensor()
    for start in stride(from: 0, to: set.count, by: batchSize) {
      let indices = Array(start..<min(start + batchSize, set.count))
      let batch = images.shaped(set.batchShape(indices.count))
      set.write(indices, into: batch)
      let tokens = model.forwardTokens(batch)
      let perImage = tokens.shape[1] * width
      features.withUnsafeMutableBufferPointer { out in
        for row in 0..<indices.count {
          (out.baseAddress! + (start + row) * width).update(from: tokens.pointer + row * perImage, count: width)
        }
      }
      progress(start + indices.count, set.count)
    }
    return LabeledImages(
      pixels: .floats(features), labels: set.labels, channels: width, height: 1, width: 1,
      mean: Array(repeating: 0, count: width), std: Array(repeating: 1, count: width))
  }
}

/// A linear head on precomputed features, as a `SwapNetwork`: its "images" are (B, D, 1, 1) feature
/// rows (from `HeadFit.classTokenFeatures`), its logits the head's output. The head's weight and bias
/// train; the `Linear` is shared with the model it came from, so training updates that model's head.
public final class LinearHeadNetwork: SwapNetwork {
  public let head: Linear
  public let trainable: [Parameter]
  public let sparseGroups: [[Parameter]] = []
  private var logitsTensor = Tensor(shape: [0])
  private var lastFeatures: Tensor?

  public init(head: Linear) {
    self.head = head
    for parameter in head.parameters { parameter.isTrainable = true }
    trainable = head.parameters
  }

  /// A linear head has no dropout: `dropout` is ignored (kswap-pretrain refuses one for a head fit).
  public func trainingForward(_ features: Tensor, dropout: Dropout?) -> Tensor {
    lastFeatures = features
    return forward(features, training: true)
  }

  public func backward(_ dLogits: Tensor) {
    guard let features = lastFeatures else { preconditionFailure("backward needs a trainingForward first") }
    head.backward(dy: dLogits.pointer, x: features.pointer, dx: nil, rows: features.shape[0])
  }

  public func logits(_ features: Tensor) -> Tensor { forward(features, training: false) }

  private func forward(_ features: Tensor, training: Bool) -> Tensor {
    let rows = features.shape[0]
    precondition(
      features.count == rows * head.inFeatures, "features \(features.shape) for a head of \(head.inFeatures)")
    if logitsTensor.shape != [rows, head.outFeatures] { logitsTensor = Tensor(shape: [rows, head.outFeatures]) }
    head.forward(x: features.pointer, y: logitsTensor.pointer, rows: rows, training: training)
    return logitsTensor
  }
}
