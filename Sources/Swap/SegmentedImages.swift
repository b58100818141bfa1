// An in-memory segmentation set: images stored and normalised as LabeledImages stores them, and one
// class per pixel (Formats/dataset.md, "Segmentation datasets") kept as bytes: 10,000 scenes of 56x56
// take 31 MB.

import TensorFile
import Tensors

public struct SegmentedImages: NormalisedImages, Sendable {
  public var pixels: LabeledImages.Pixels
  /// (N, H, W) row-major: each pixel's class (an index into the file's classes, or the model's row once
  /// matched by name), or `DatasetLayout.ignoreLabel` for a pixel in no loss and no metric.
  public var masks: [UInt8]
  public var channels: Int
  public var height: Int
  public var width: Int
  /// Per-channel normalisation x' = (x - mean) / std, applied after scaling bytes to [0, 1].
  public var mean: [Float]
  public var std: [Float]

  /// The mask value of an ignored pixel.
  public static let ignoreLabel = DatasetLayout.ignoreLabel

  public init(
    pixels: LabeledImages.Pixels, masks: [UInt8], channels: Int, height: Int, width: Int, mean: [Float],
    std: [Float]
  ) {
    self.pixels = pixels
    self.masks = masks
    self.channels = channels
    self.height = height
    self.width = width
    self.mean = mean
    self.std = std
  }

  public var count: Int { masks.count / (height * width) }
  public var pixelsPerMask: Int { height * width }

  /// Writes the masks at `indices` into `targets` (H * W values each, row-major) from mask `offset`,
  /// as the per-pixel loss reads them: the class, or `ignoreLabel` (255) for an ignored pixel.
  public func writeMasks(_ indices: [Int], into targets: inout [UInt8], at offset: Int = 0) {
    let plane = pixelsPerMask
    precondition((offset + indices.count) * plane <= targets.count, "masks do not fit \(targets.count) targets")
    for (row, index) in indices.enumerated() {
      targets.replaceSubrange(
        (offset + row) * plane..<(offset + row + 1) * plane, with: masks[index * plane..<(index + 1) * plane])
    }
  }

  /// The masks at `indices`, indices.count * H * W values (see `writeMasks`).
  public func maskBatch(_ indices: [Int]) -> [UInt8] {
    var targets = [UInt8](repeating: 0, count: indices.count * pixelsPerMask)
    writeMasks(indices, into: &targets)
    return targets
  }

  /// The items at `indices`, in that order.
  public func subset(_ indices: [Int]) -> SegmentedImages {
    var copy = self
    copy.pixels = pixels.gathering(indices, size: imageSize)
    let plane = pixelsPerMask
    copy.masks = []
    copy.masks.reserveCapacity(indices.count * plane)
    for i in indices { copy.masks += masks[(i * plane)..<((i + 1) * plane)] }
    return copy
  }

  /// The same images with `target` channels, as `LabeledImages.repeatingGrey` makes them.
  public func repeatingGrey(toChannels target: Int) -> SegmentedImages? {
    if target == channels { return self }
    guard channels == 1, target > 1 else { return nil }
    var copy = self
    copy.channels = target
    copy.pixels = pixels.repeatingPlanes(plane: height * width, times: target)
    return copy
  }

  /// The mask values that occur, ignored pixels aside, sorted.
  public var presentLabels: [Int] {
    var seen = [Bool](repeating: false, count: 256)
    for value in masks { seen[Int(value)] = true }
    return (0..<Int(Self.ignoreLabel)).filter { seen[$0] }
  }

  /// The same images with each mask value v replaced by `rows[v]`, ignored pixels kept. Refuses a value
  /// outside `rows` or mapped to a negative row, and a row a mask byte cannot hold (255 and above:
  /// a segmentation model has at most 255 classes).
  public func relabeled(_ rows: [Int], file: String) throws -> SegmentedImages {
    var table = [UInt8](repeating: Self.ignoreLabel, count: 256)
    var known = [Bool](repeating: false, count: 256)
    known[Int(Self.ignoreLabel)] = true
    for (value, row) in rows.enumerated().prefix(Int(Self.ignoreLabel)) where row >= 0 {
      guard row < Int(Self.ignoreLabel) else {
        throw SwapError(
          .limitExceeded, file: file,
          "mask value \(value) would become row \(row); masks hold rows below \(Self.ignoreLabel) "
            + "(a segmentation model has at most \(Self.ignoreLabel) classes)")
      }
      table[value] = UInt8(row)
      known[value] = true
    }
    if let index = masks.firstIndex(where: { !known[Int($0)] }) {
      throw SwapError(
        .invalidDataset, file: file,
        "mask value \(masks[index]) of image \(index / pixelsPerMask) is out of range 0..<\(rows.count) "
          + "(its class list; \(Self.ignoreLabel) is ignore)")
    }
    var copy = self
    copy.masks = masks.map { table[Int($0)] }
    return copy
  }

  /// Several sets as one, each keeping its own normalisation (see `LabeledImages.joined`).
  public static func joined(_ sets: [SegmentedImages]) -> SegmentedImages {
    precondition(!sets.isEmpty)
    let first = sets[0]
    let (pixels, mean, std) = LabeledImages.Pixels.joined(
      sets.map { set in (set.pixels, set.mean, set.std, { set.batch(Array(0..<set.count)).scalars }) },
      channels: first.channels)
    return SegmentedImages(
      pixels: pixels, masks: sets.flatMap(\.masks), channels: first.channels, height: first.height,
      width: first.width, mean: mean, std: std)
  }
}

extension SegmentedImages {
  /// The same images with the pixels of classes `rows` made ignored (`ignoreLabel`).
  public func ignoring(rows: [Int]) -> SegmentedImages {
    var dropped = [Bool](repeating: false, count: 256)
    for row in rows where row >= 0 && row < 256 { dropped[row] = true }
    var copy = self
    copy.masks = masks.map { dropped[Int($0)] ? Self.ignoreLabel : $0 }
    return copy
  }
}
