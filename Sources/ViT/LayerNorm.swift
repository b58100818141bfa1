import Tensors

/// Layer normalisation over the feature dimension with a learned scale and shift.
///
/// Matches `torch.nn.LayerNorm(dim, eps)`; timm's ViT uses eps 1e-6. Keeps each row's mean and
/// 1/std from the last forward for the backward pass.
public final class LayerNorm {
  /// The module name, e.g. `blocks.0.norm1`.
  public let name: String
  /// gamma, shape (dim).
  public let weight: Parameter
  /// beta, shape (dim).
  public let bias: Parameter
  /// The epsilon added to the variance.
  public let eps: Float

  private let mean = Buffer(), rstd = Buffer()

  /// A layer with the given scale and shift.
  public init(name: String, weight: Tensor, bias: Tensor, eps: Float) {
    self.name = name
    self.weight = Parameter(name: name + ".weight", value: weight)
    self.bias = Parameter(name: name + ".bias", value: bias)
    self.eps = eps
  }

  var dim: Int { weight.value.count }
  var parameters: [Parameter] { [weight, bias] }

  /// y = LayerNorm(x) for `rows` rows.
  func forward(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, rows: Int) {
    LayerNormKernel.forward(
      x: x, gamma: weight.value.pointer, beta: bias.value.pointer, y: y, mean: mean.reserve(rows),
      rstd: rstd.reserve(rows), rows: rows, dim: dim, eps: eps)
  }

  /// Adds dx (and the parameter gradients when trainable); x is the forward input.
  func backward(dy: UnsafePointer<Float>, x: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, rows: Int) {
    LayerNormKernel.backward(
      dy: dy, x: x, gamma: weight.value.pointer, mean: mean.pointer, rstd: rstd.pointer, dx: dx,
      dgamma: weight.gradient?.pointer, dbeta: bias.gradient?.pointer, rows: rows, dim: dim)
  }
}
