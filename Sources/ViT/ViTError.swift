/// Errors from building a model or attaching adapters; each names the tensor or module at fault.
public enum ViTError: Error, CustomStringConvertible, Equatable {
  /// A tensor the architecture needs is not in the weights.
  case missingTensor(String)
  /// A tensor has the wrong shape.
  case shapeMismatch(name: String, expected: [Int], actual: [Int])
  /// The weights hold a tensor this architecture does not use.
  case unexpectedTensor(String)
  /// An adapter names a module the model does not have.
  case unknownModule(String)
  /// The configuration is inconsistent.
  case invalidConfig(String)
  /// The architecture cannot be worked out from the tensors.
  case cannotInferConfig(String)
  /// Nothing says how many attention heads a model of this width has (it is not a multiple of 64).
  case unknownHeads(width: Int)
  /// Two tensors of a checkpoint are the same timm parameter (the file mixes layouts).
  case sameParameter(String, String, timmName: String)
  /// Images whose shape the model cannot take.
  case badImageShape([Int], channels: Int, patch: Int)

  public var description: String {
    switch self {
    case .missingTensor(let n): return "tensor `\(n)` is missing"
    case .shapeMismatch(let n, let e, let a): return "tensor `\(n)` has shape \(a), expected \(e)"
    case .unexpectedTensor(let n): return "tensor `\(n)` is not part of a ViT with this architecture"
    case .unknownModule(let n): return "the model has no Linear module `\(n)`"
    case .invalidConfig(let why): return "invalid ViT configuration: \(why)"
    case .cannotInferConfig(let why): return "cannot infer the ViT architecture: \(why)"
    case .unknownHeads(let width):
      return "the number of attention heads is unknown: the width \(width) is not a multiple of 64 (timm's 64 per head)"
    case .sameParameter(let a, let b, let timm): return "tensors `\(a)` and `\(b)` are both timm's `\(timm)`"
    case .badImageShape(let s, let c, let p):
      return
        "images of shape \(s) do not fit the model: expected (batch, \(c), height, width) with height and width multiples of \(p)"
    }
  }

  /// Equal element counts and equal shapes once size-1 dimensions are dropped ((1, D) vs (D)).
  static func sameIgnoringOnes(_ a: [Int], _ b: [Int]) -> Bool {
    a.filter { $0 != 1 } == b.filter { $0 != 1 }
  }
}
