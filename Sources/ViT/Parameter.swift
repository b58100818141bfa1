import Tensors

/// A named model tensor with its gradient.
///
/// The name is the on-disk (timm / PEFT) name, for example `blocks.3.mlp.fc1.weight` or
/// `blocks.3.mlp.fc1.lora_A.weight`. `gradient` exists only while the parameter is trainable;
/// backward passes add into it, and `zeroGradient()` clears it.
public final class Parameter {
  /// The name in the checkpoint or adapter file.
  public let name: String
  /// The current values.
  public let value: Tensor
  /// The accumulated gradient, same shape as `value`; nil when frozen.
  public private(set) var gradient: Tensor?

  /// A frozen parameter holding `value`.
  public init(name: String, value: Tensor) {
    self.name = name
    self.value = value
  }

  /// Whether backward passes compute this parameter's gradient.
  public var isTrainable: Bool {
    get { gradient != nil }
    set {
      if newValue, gradient == nil { gradient = Tensor(shape: value.shape) }
      if !newValue { gradient = nil }
    }
  }

  /// Sets the gradient to zero (no-op when frozen).
  public func zeroGradient() { gradient?.zero() }
}

/// A growable scratch or activation buffer, reused from step to step.
///
/// Holds at least `count` floats after `reserve(count)`; it only reallocates to grow, so a
/// smaller last batch reuses the big buffer.
final class Buffer {
  private(set) var pointer: UnsafeMutablePointer<Float>
  private(set) var capacity: Int

  init() {
    capacity = 0
    pointer = .allocate(capacity: 1)
  }

  deinit { pointer.deallocate() }

  @discardableResult
  func reserve(_ count: Int) -> UnsafeMutablePointer<Float> {
    if count > capacity {
      pointer.deallocate()
      pointer = .allocate(capacity: count)
      capacity = count
    }
    return pointer
  }

  /// Frees the memory (a later `reserve` allocates again).
  func release() {
    pointer.deallocate()
    pointer = .allocate(capacity: 1)
    capacity = 0
  }
}
