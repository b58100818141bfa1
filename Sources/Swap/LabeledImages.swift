// An in-memory classification set: images as stored (U8 keeps 60k Fashion-MNIST images in 47 MB)
// and normalised batch by batch into the Float32 the network reads.

import Tensors

public struct LabeledImages: NormalisedImages, Sendable {
  public enum Pixels: Sendable {
    /// 0...255, scaled to [0, 1] before normalisation.
    case bytes([UInt8])
    /// Already in [0, 1] (or whatever scale the mean and std are given in).
    case floats([Float])
  }

  public var pixels: Pixels
  public var labels: [Int]
  public var channels: Int
  public var height: Int
  public var width: Int
  /// Per-channel normalisation x' = (x - mean) / std, applied after scaling bytes to [0, 1].
  public var mean: [Float]
  public var std: [Float]

  public init(pixels: Pixels, labels: [Int], channels: Int, height: Int, width: Int, mean: [Float], std: [Float]) {
    self.pixels = pixels
    self.labels = labels
    self.channels = channels
    self.height = height
    self.width = width
    self.mean = mean
    self.std = std
  }

  public var count: Int { labels.count }

  /// The items at `indices`, in that order.
  public func subset(_ indices: [Int]) -> LabeledImages {
    var copy = self
    copy.labels = indices.map { labels[$0] }
    copy.pixels = pixels.gathering(indices, size: imageSize)
    return copy
  }

  /// The same images with `target` channels: unchanged when they have that many, a grey image's one
  /// plane repeated into each channel, nil for any other mismatch (colour is never made grey). The
  /// mean and std stay as they are: the caller gives them per target channel.
  public func repeatingGrey(toChannels target: Int) -> LabeledImages? {
    if target == channels { return self }
    guard channels == 1, target > 1 else { return nil }
    var copy = self
    copy.channels = target
    copy.pixels = pixels.repeatingPlanes(plane: height * width, times: target)
    return copy
  }

  /// Several sets as one (the retain stream of the forgetting stage is retain + learn). The sets must
  /// have the same image shape; each keeps its own normalisation by being converted to floats first
  /// when they differ.
  public static func joined(_ sets: [LabeledImages]) -> LabeledImages {
    precondition(!sets.isEmpty)
    let first = sets[0]
    let (pixels, mean, std) = Pixels.joined(
      sets.map { set in (set.pixels, set.mean, set.std, { set.batch(Array(0..<set.count)).scalars }) },
      channels: first.channels)
    return LabeledImages(
      pixels: pixels, labels: sets.flatMap(\.labels), channels: first.channels, height: first.height,
      width: first.width, mean: mean, std: std)
  }
}

/// The pixel work both kinds of set share (`LabeledImages`, `SegmentedImages`).
extension LabeledImages.Pixels {
  /// Writes the images at `indices` (`channels` planes of `plane` values each), normalised per
  /// channel, into consecutive images of `destination` from image `offset`.
  func writeNormalised(
    _ indices: [Int], channels: Int, plane: Int, mean: [Float], std: [Float], into destination: Tensor, at offset: Int
  ) {
    let size = channels * plane
    precondition((offset + indices.count) * size <= destination.count, "batch does not fit \(destination.shape)")
    let dst = destination.pointer + offset * size
    for (row, index) in indices.enumerated() {
      for c in 0..<channels {
        let scale = 1 / std[c]
        let shift = mean[c]
        let from = index * size + c * plane
        let to = row * size + c * plane
        switch self {
        case .bytes(let bytes):
          bytes.withUnsafeBufferPointer { src in
            for i in 0..<plane { dst[to + i] = (Float(src[from + i]) * (1 / 255) - shift) * scale }
          }
        case .floats(let floats):
          floats.withUnsafeBufferPointer { src in
            for i in 0..<plane { dst[to + i] = (src[from + i] - shift) * scale }
          }
        }
      }
    }
  }

  /// The images at `indices` (`size` values each), in that order.
  func gathering(_ indices: [Int], size: Int) -> Self {
    func gather<T>(_ values: [T]) -> [T] {
      var picked = [T]()
      picked.reserveCapacity(indices.count * size)
      for i in indices { picked += values[(i * size)..<((i + 1) * size)] }
      return picked
    }
    switch self {
    case .bytes(let bytes): return .bytes(gather(bytes))
    case .floats(let floats): return .floats(gather(floats))
    }
  }

  /// Every `plane` of values repeated `times` times in place: grey images made `times` channels.
  func repeatingPlanes(plane: Int, times: Int) -> Self {
    func repeated<T>(_ values: [T]) -> [T] {
      var out: [T] = []
      out.reserveCapacity(values.count * times)
      for start in stride(from: 0, to: values.count, by: plane) {
        for _ in 0..<times { out += values[start..<(start + plane)] }
      }
      return out
    }
    switch self {
    case .bytes(let bytes): return .bytes(repeated(bytes))
    case .floats(let floats): return .floats(repeated(floats))
    }
  }

  /// Several sets' pixels as one: their bytes when all are bytes with one normalisation, else each
  /// one's normalised floats (`normalised`) with the identity normalisation, so each keeps its values.
  static func joined(
    _ parts: [(pixels: Self, mean: [Float], std: [Float], normalised: () -> [Float])], channels: Int
  ) -> (pixels: Self, mean: [Float], std: [Float]) {
    let first = parts[0]
    let sameNorm = parts.allSatisfy { $0.mean == first.mean && $0.std == first.std }
    if sameNorm, parts.allSatisfy({ if case .bytes = $0.pixels { return true } else { return false } }) {
      var bytes: [UInt8] = []
      for part in parts { if case .bytes(let b) = part.pixels { bytes += b } }
      return (.bytes(bytes), first.mean, first.std)
    }
    // Mixed storage or normalisation: store normalised floats with the identity normalisation.
    var floats: [Float] = []
    for part in parts { floats += part.normalised() }
    return (.floats(floats), Array(repeating: 0, count: channels), Array(repeating: 1, count: channels))
  }
}

/// Images stored as bytes or floats with a per-channel normalisation: what every set the trainers
/// read (labelled or segmented) batches the same way.
public protocol NormalisedImages {
  var pixels: LabeledImages.Pixels { get }
  var channels: Int { get }
  var height: Int { get }
  var width: Int { get }
  var mean: [Float] { get }
  var std: [Float] { get }
}

extension NormalisedImages {
  public var imageSize: Int { channels * height * width }

  /// Writes the normalised images at `indices` into consecutive images of `destination` ((C, H, W)
  /// each, row-major), starting at image `offset`.
  public func write(_ indices: [Int], into destination: Tensor, at offset: Int = 0) {
    pixels.writeNormalised(
      indices, channels: channels, plane: height * width, mean: mean, std: std, into: destination, at: offset)
  }

  /// The normalised images at `indices` as a new (indices.count, C, H, W) tensor.
  public func batch(_ indices: [Int]) -> Tensor {
    let images = Tensor(shape: batchShape(indices.count))
    write(indices, into: images)
    return images
  }

  /// The shape (count, C, H, W) of a batch of `count` images.
  public func batchShape(_ count: Int) -> [Int] { [count, channels, height, width] }
}
