import SeededRandom

extension Tensor {
  /// A tensor with elements uniform in [low, high), drawn from `generator`.
  public static func uniform(
    shape: [Int], low: Float, high: Float, generator: inout SeededGenerator
  ) -> Tensor {
    let t = Tensor(shape: shape)
    for i in 0..<t.count { t.pointer[i] = generator.uniform(low, high) }
    return t
  }

  /// A tensor with normal elements of standard deviation `std`, drawn from `generator`.
  public static func normal(shape: [Int], std: Float, generator: inout SeededGenerator) -> Tensor {
    let t = Tensor(shape: shape)
    for i in 0..<t.count { t.pointer[i] = std * generator.normal() }
    return t
  }
}
