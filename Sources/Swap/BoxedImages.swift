// An in-memory detection set: images stored and normalised as LabeledImages stores them, and any number
// of class-labelled boxes per image (Formats/dataset.md, "Detection datasets").

import Tensors

public struct BoxedImages: NormalisedImages, Sendable {
  public var pixels: LabeledImages.Pixels
  /// Per image, its boxes in pixel coordinates, each with its class (an index into the file's classes,
  /// or the model's row once matched by name) and score 1.
  public var boxes: [[LabeledBox]]
  public var channels: Int
  public var height: Int
  public var width: Int
  /// Per-channel normalisation x' = (x - mean) / std, applied after scaling bytes to [0, 1].
  public var mean: [Float]
  public var std: [Float]

  public init(
    pixels: LabeledImages.Pixels, boxes: [[LabeledBox]], channels: Int, height: Int, width: Int, mean: [Float],
    std: [Float]
  ) {
    self.pixels = pixels
    self.boxes = boxes
    self.channels = channels
    self.height = height
    self.width = width
    self.mean = mean
    self.std = std
  }

  public var count: Int { boxes.count }

  /// The items at `indices`, in that order.
  public func subset(_ indices: [Int]) -> BoxedImages {
    var copy = self
    copy.pixels = pixels.gathering(indices, size: imageSize)
    copy.boxes = indices.map { boxes[$0] }
    return copy
  }

  /// The same images with `target` channels, as `LabeledImages.repeatingGrey` makes them.
  public func repeatingGrey(toChannels target: Int) -> BoxedImages? {
    if target == channels { return self }
    guard channels == 1, target > 1 else { return nil }
    var copy = self
    copy.channels = target
    copy.pixels = pixels.repeatingPlanes(plane: height * width, times: target)
    return copy
  }

  /// The classes that have at least one box, sorted.
  public var presentLabels: [Int] { Array(Set(boxes.joined().map(\.label))).sorted() }

  /// The same images with each box's class c replaced by `rows[c]`; refuses a class outside `rows` or
  /// mapped to a negative row.
  public func relabeled(_ rows: [Int], file: String) throws -> BoxedImages {
    var copy = self
    for (image, list) in boxes.enumerated() {
      for (index, box) in list.enumerated() {
        guard box.label >= 0, box.label < rows.count, rows[box.label] >= 0 else {
          throw SwapError(
            .invalidDataset, file: file,
            "box label \(box.label) of image \(image) is out of range 0..<\(rows.count) (its class list)")
        }
        copy.boxes[image][index].label = rows[box.label]
      }
    }
    return copy
  }

  /// Several sets as one, each keeping its own normalisation (see `LabeledImages.joined`).
  public static func joined(_ sets: [BoxedImages]) -> BoxedImages {
    precondition(!sets.isEmpty)
    let first = sets[0]
    let (pixels, mean, std) = LabeledImages.Pixels.joined(
      sets.map { set in (set.pixels, set.mean, set.std, { set.batch(Array(0..<set.count)).scalars }) },
      channels: first.channels)
    return BoxedImages(
      pixels: pixels, boxes: sets.flatMap(\.boxes), channels: first.channels, height: first.height,
      width: first.width, mean: mean, std: std)
  }
}
