import SeededRandom
import Tensors

/// How LoRA adapters are placed, sized, scaled and initialised.
///
/// A LoRA Linear computes y = W x + b + s · B (A x) with A (r, in), B (out, r) and
/// s = alpha / r (or alpha / √r with rsLoRA). B starts at zero, so a fresh adapter changes nothing.
/// Defaults are the paper's: rank 8 on `mlp.fc1` and `mlp.fc2` of every block.
///
/// ### See Also
/// - LoRA: Hu et al., arXiv 2106.09685. rsLoRA: Kalajdzievski, arXiv 2312.03732.
public struct LoRAConfig: Sendable, Equatable {
  /// The rank r of each adapter.
  public var rank: Int
  /// The numerator of the scaling (PEFT's `lora_alpha`).
  public var alpha: Float
  /// Module names (or name suffixes after a dot) that get adapters, as in PEFT's `target_modules`.
  public var targetModules: [String]
  /// Scale by alpha / √r instead of alpha / r.
  public var useRSLoRA: Bool
  /// How A is initialised.
  public var initialization: Initialization

  /// The distribution of A at the start (B is always zero).
  public enum Initialization: String, Sendable {
    /// PEFT's default: kaiming-uniform with a = √5, U(±1/√in).
    case peft
    /// The paper's code: kaiming-uniform with a = √50, U(±√(6 / (51·in))).
    case paper
  }

  /// The paper's placement: `mlp.fc1` and `mlp.fc2`.
  public static let defaultTargets = ["mlp.fc1", "mlp.fc2"]

  /// A configuration; the defaults are rank 8, alpha 1 (s = 1/8), FFN targets, PEFT init.
  public init(
    rank: Int = 8, alpha: Float = 1, targetModules: [String] = LoRAConfig.defaultTargets,
    useRSLoRA: Bool = false, initialization: Initialization = .peft
  ) {
    self.rank = rank
    self.alpha = alpha
    self.targetModules = targetModules
    self.useRSLoRA = useRSLoRA
    self.initialization = initialization
  }

  /// The factor s multiplying B·A.
  public var scaling: Float {
    useRSLoRA ? alpha / Float(rank).squareRoot() : alpha / Float(rank)
  }

  /// Whether the module `name` (e.g. `blocks.2.mlp.fc1`) is a target.
  public func targets(_ name: String) -> Bool {
    targetModules.contains { name == $0 || name.hasSuffix("." + $0) }
  }

  /// The uniform bound for A given the layer's input width.
  public func initBound(inFeatures: Int) -> Float {
    // kaiming_uniform: bound = gain · √(3 / fan_in), gain = √(2 / (1 + a²)).
    let aSquared: Float = initialization == .peft ? 5 : 50
    return (2 / (1 + aSquared)).squareRoot() * (3 / Float(inFeatures)).squareRoot()
  }
}

/// The two low-rank matrices on one Linear, with their PEFT names.
public final class LoRAAdapter {
  /// A, shape (r, in), named `<module>.lora_A.weight`.
  public let a: Parameter
  /// B, shape (out, r), named `<module>.lora_B.weight`.
  public let b: Parameter
  /// The factor s.
  public let scaling: Float

  /// The rank r.
  public var rank: Int { a.value.shape[0] }

  /// An adapter from given matrices (for loading a saved adapter).
  public init(module: String, a: Tensor, b: Tensor, scaling: Float) {
    precondition(a.rank == 2 && b.rank == 2 && a.shape[0] == b.shape[1], "LoRA shapes \(a.shape) \(b.shape)")
    self.a = Parameter(name: module + ".lora_A.weight", value: a)
    self.b = Parameter(name: module + ".lora_B.weight", value: b)
    self.scaling = scaling
  }

  /// A fresh adapter: A random as `config` says, B zero.
  public convenience init(
    module: String, inFeatures: Int, outFeatures: Int, config: LoRAConfig,
    generator: inout SeededGenerator
  ) {
    let bound = config.initBound(inFeatures: inFeatures)
    let a = Tensor.uniform(shape: [config.rank, inFeatures], low: -bound, high: bound, generator: &generator)
    self.init(module: module, a: a, b: Tensor(shape: [outFeatures, config.rank]), scaling: config.scaling)
  }
}
