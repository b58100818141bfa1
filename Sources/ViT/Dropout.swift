import SeededRandom
import Tensors

/// The dropout of one training forward, where the official classification ViT (jeonsworld/ViT-pytorch,
/// which the paper's code uses) applies it: on the tokens after the position embedding, before block 0;
/// in each block's MLP after GELU (before fc2); and after fc2 (before LayerScale and the residual add,
/// as timm's `Mlp` drops inside the MLP). Attention dropout and projection dropout are 0 there, and so
/// here. Inverted dropout: kept values are scaled by 1 / (1 - p).
///
/// The masks are a pure function of `key`, the site and the element's index (`DropoutKernel`): a
/// trainer derives one key per step from its seed and the step's index, so a run is reproducible, a
/// resumed run draws the masks an uninterrupted one drew, and the thread count changes nothing. The
/// backward pass applies the same masks.
public struct Dropout: Sendable, Equatable {
  /// The probability of dropping each element, in [0, 1).
  public let probability: Float
  /// Fixes every mask of the forward.
  public let key: UInt64

  public init(probability: Float, key: UInt64) {
    precondition(probability >= 0 && probability < 1, "dropout probability \(probability) is not in [0, 1)")
    self.probability = probability
    self.key = key
  }

  /// Where a mask applies.
  enum Site {
    case embedding
    case mlpHidden(block: Int)
    case mlpOutput(block: Int)

    var name: String {
      switch self {
      case .embedding: "embedding"
      case .mlpHidden(let block): "block \(block) mlp hidden"
      case .mlpOutput(let block): "block \(block) mlp output"
      }
    }
  }

  /// y = x ⊙ mask / (1 - p) with the site's mask; y may be x. In backward, the same call on the
  /// gradient gives the input gradient.
  func apply(_ site: Site, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
    var generator = SeededGenerator(seed: key).derived(site.name)
    DropoutKernel.apply(x, y, count: count, key: generator.next(), probability: probability)
  }
}
