import Foundation

/// The paper's learning-rate schedule: timm's cosine, stepped once per epoch and restarted for each
/// stage, from `peak` at epoch 0 towards `floor` (reached at epoch `epochs`, one past the last).
/// With the defaults (1e-2, 1e-5, 5 epochs) the epochs run at 1.0e-2, 9.05e-3, 6.55e-3, 3.46e-3, 9.6e-4.
public struct CosineSchedule: Sendable, Equatable {
  public var peak: Float
  public var floor: Float
  public var epochs: Int

  public init(peak: Float, floor: Float, epochs: Int) {
    self.peak = peak
    self.floor = floor
    self.epochs = epochs
  }

  public func rate(epoch: Int) -> Float {
    guard epochs > 0 else { return peak }
    let t = Double(min(max(epoch, 0), epochs)) / Double(epochs)
    return Float(Double(floor) + 0.5 * Double(peak - floor) * (1 + cos(Double.pi * t)))
  }
}
