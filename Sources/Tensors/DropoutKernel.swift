import CKernels

/// Inverted dropout with masks that are a pure function of a key and the element's index, as torch's
/// `nn.Dropout` in training: each element is kept with probability 1 - p and then scaled by 1 / (1 - p),
/// or set to 0.
///
/// Element i is kept when its 32-bit draw is at least p·2³², where the draws are the halves of the
/// outputs of `SeededGenerator(seed: key)`, low half first (elements 2j and 2j + 1 share output j).
/// Since the draw depends on the index alone, any split over threads gives the same mask, and the
/// backward pass applies the same mask to the gradient by calling `apply` again with the same key:
/// dropout is linear, d(loss)/dx = mask ⊙ d(loss)/dy / (1 - p).
public enum DropoutKernel {
  /// y = x ⊙ mask / (1 - p) for `count` floats; y may be x. `probability` must be in [0, 1).
  public static func apply(
    _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, key: UInt64, probability: Float
  ) {
    precondition(probability >= 0 && probability < 1, "dropout probability \(probability) is not in [0, 1)")
    let threshold = threshold(probability), scale = scale(probability)
    // Chunks start at even indices, so a chunk's first element is the low half of an output.
    let chunk = 4096
    Parallel.forRows(count / chunk + 1, cost: chunk * 4) { range in
      let lo = range.lowerBound * chunk, hi = min(count, range.upperBound * chunk)
      if lo >= hi { return }
      kswap_dropout(x + lo, y + lo, hi - lo, key, lo, threshold, scale)
    }
  }

  /// The draw below which an element is dropped: p·2³², rounded.
  public static func threshold(_ probability: Float) -> UInt32 {
    UInt32(min((Double(probability) * 4_294_967_296).rounded(), 4_294_967_295))
  }

  /// What a kept element is multiplied by: 1 / (1 - p).
  public static func scale(_ probability: Float) -> Float { Float(1 / (1 - Double(probability))) }
}
