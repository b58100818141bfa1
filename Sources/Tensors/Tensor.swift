/// A dense Float32 tensor, row-major, owning one heap buffer.
///
/// `Tensor` is a class on purpose: the engine reuses activation and gradient buffers from step to
/// step, and kernels write through `pointer` without copy-on-write checks. Copy with `copy()`.
///
/// ```swift
/// let x = Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
/// x[1, 2]        // 6
/// x.pointer[4]   // 5
/// ```
public final class Tensor: @unchecked Sendable {
  /// The dimensions, outermost first.
  public private(set) var shape: [Int]
  /// The number of elements (the product of `shape`).
  public let count: Int
  /// The elements; valid for `count` floats while the tensor lives.
  public let pointer: UnsafeMutablePointer<Float>

  /// A zero-filled tensor of the given shape.
  public init(shape: [Int]) {
    precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
    self.shape = shape
    count = shape.reduce(1, *)
    pointer = .allocate(capacity: max(count, 1))
    pointer.initialize(repeating: 0, count: max(count, 1))
  }

  /// A tensor holding `values`, whose count must match the shape.
  public convenience init(shape: [Int], values: [Float]) {
    self.init(shape: shape)
    precondition(values.count == count, "\(values.count) values for shape \(shape)")
    values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: count) }
  }

  /// A tensor filled with `value`.
  public convenience init(shape: [Int], repeating value: Float) {
    self.init(shape: shape)
    pointer.update(repeating: value, count: count)
  }

  deinit { pointer.deallocate() }

  /// The rank (number of dimensions).
  public var rank: Int { shape.count }

  /// The elements as a buffer pointer.
  public var buffer: UnsafeMutableBufferPointer<Float> { .init(start: pointer, count: count) }

  /// The elements as an array (a copy).
  public var scalars: [Float] { Array(buffer) }

  /// A new tensor with the same shape and elements.
  public func copy() -> Tensor {
    let t = Tensor(shape: shape)
    t.pointer.update(from: pointer, count: count)
    return t
  }

  /// Copies all elements from `other`, which must have the same element count.
  public func assign(_ other: Tensor) {
    precondition(other.count == count, "assign: \(other.shape) into \(shape)")
    pointer.update(from: other.pointer, count: count)
  }

  /// Sets every element to zero.
  public func zero() { pointer.update(repeating: 0, count: count) }

  /// Sets every element to `value`.
  public func fill(_ value: Float) { pointer.update(repeating: value, count: count) }

  /// Changes the shape in place; the element count must stay the same.
  public func reshape(_ newShape: [Int]) {
    precondition(newShape.reduce(1, *) == count, "reshape \(shape) to \(newShape)")
    shape = newShape
  }

  /// The element at a full index, for tests and small lookups (not for hot loops).
  public subscript(_ index: Int...) -> Float {
    get { pointer[offset(index)] }
    set { pointer[offset(index)] = newValue }
  }

  private func offset(_ index: [Int]) -> Int {
    precondition(index.count == shape.count, "index \(index) for shape \(shape)")
    var o = 0
    for (i, n) in zip(index, shape) {
      precondition(i >= 0 && i < n, "index \(index) out of range for shape \(shape)")
      o = o * n + i
    }
    return o
  }

  /// The sum of squares of the elements, accumulated in Double.
  public func squaredNorm() -> Double {
    var s = 0.0
    for i in 0..<count {
      let v = Double(pointer[i])
      s += v * v
    }
    return s
  }
}
