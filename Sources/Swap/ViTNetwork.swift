// The engine's vision transformer as a SwapNetwork: images in, class logits out, LoRA (and optionally
// the head, or everything) trainable, one group-sparse group per block.

import Tensors
import ViT

public final class ViTNetwork: SwapNetwork {
  public let model: VisionTransformer
  public private(set) var trainable: [Parameter] = []
  public private(set) var sparseGroups: [[Parameter]] = []

  public init(model: VisionTransformer) {
    self.model = model
  }

  /// Chooses what trains and refreshes the trainable list and the groups (each block's fc1/fc2 LoRA A
  /// and B; blocks without LoRA form no group).
  public func setTrainable(_ set: TrainableSet) {
    model.setTrainable(set)
    trainable = model.trainableParameters
    sparseGroups = model.blocks.compactMap { block in
      let adapters = [block.fc1.lora, block.fc2.lora].compactMap { $0 }
      return adapters.isEmpty ? nil : adapters.flatMap { [$0.a, $0.b] }
    }
  }

  public func trainingForward(_ images: Tensor, dropout: Dropout?) -> Tensor {
    model.forward(images, training: true, dropout: dropout)
  }

  public func backward(_ dLogits: Tensor) { model.backward(dLogits) }

  public func logits(_ images: Tensor) -> Tensor { model.forward(images, training: false) }
}
