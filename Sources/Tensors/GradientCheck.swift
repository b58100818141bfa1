/// Central finite differences, for checking hand-written backward passes in tests.
///
/// ```swift
/// let err = GradientCheck.largestError(of: [x], analytic: [dx], epsilon: 1e-2) { Double(f(x)) }
/// #expect(err < 1e-2)
/// ```
public enum GradientCheck {
  /// Perturbs every element of every tensor in `inputs` by ±`epsilon` and compares the
  /// numerical derivative of `loss` with the matching tensor in `analytic`.
  ///
  /// Returns the largest |analytic - numerical| over all elements, divided by the largest
  /// |numerical| of that tensor (so tiny entries do not blow up the ratio); the maximum over tensors.
  public static func largestError(
    of inputs: [Tensor], analytic: [Tensor], epsilon: Float, loss: () -> Double
  ) -> Double {
    precondition(inputs.count == analytic.count, "one analytic gradient per input")
    var worst = 0.0
    for (x, g) in zip(inputs, analytic) {
      precondition(x.count == g.count, "gradient shape \(g.shape) for \(x.shape)")
      var maxDiff = 0.0, maxNumerical = 0.0
      for i in 0..<x.count {
        let saved = x.pointer[i]
        x.pointer[i] = saved + epsilon
        let up = loss()
        x.pointer[i] = saved - epsilon
        let down = loss()
        x.pointer[i] = saved
        let numerical = (up - down) / (2 * Double(epsilon))
        maxDiff = max(maxDiff, abs(numerical - Double(g.pointer[i])))
        maxNumerical = max(maxNumerical, abs(numerical))
      }
      worst = max(worst, maxDiff / max(maxNumerical, 1e-12))
    }
    return worst
  }

  /// Σ y·w in Double: a scalar loss whose gradient with respect to y is w.
  public static func dot(_ y: Tensor, _ w: Tensor) -> Double {
    precondition(y.count == w.count, "dot: \(y.shape) vs \(w.shape)")
    var s = 0.0
    for i in 0..<y.count { s += Double(y.pointer[i]) * Double(w.pointer[i]) }
    return s
  }

  /// The largest |a - b| over the largest |reference|: an error relative to the reference tensor's
  /// scale, for comparing with golden fixtures (tiny entries do not blow it up).
  public static func scaledError(_ a: Tensor, _ reference: Tensor) -> Double {
    precondition(a.count == reference.count, "compare \(a.shape) with \(reference.shape)")
    var diff = 0.0
    var scale = 0.0
    for i in 0..<a.count {
      diff = max(diff, abs(Double(a.pointer[i]) - Double(reference.pointer[i])))
      scale = max(scale, abs(Double(reference.pointer[i])))
    }
    return diff / max(scale, 1e-30)
  }
}
