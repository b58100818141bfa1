/// A labelled image set in memory: what a dataset file (Formats/dataset.md) holds.
/// Images are (count, channels, height, width), row-major, as bytes (0...255) or floats.
public struct Dataset: Equatable, Sendable {
  public enum Pixels: Equatable, Sendable {
    case u8([UInt8])
    case f32([Float])

    public var count: Int {
      switch self {
      case .u8(let values): return values.count
      case .f32(let values): return values.count
      }
    }
  }

  public var images: Pixels
  public var channels: Int
  public var height: Int
  public var width: Int
  public var labels: [Int64]
  /// Class names, index = label; nil for a label this dataset does not name (e.g. below an offset).
  public var classes: [String?]
  /// Per-channel normalisation on the [0, 1] scale (U8 images are divided by 255 first).
  public var mean: [Double]?
  public var std: [Double]?
  /// Where the images came from, free text (package, file, member).
  public var source: String?
  /// "train", "test", "all", or another name.
  public var split: String?

  public var count: Int { labels.count }
  public var pixelsPerImage: Int { channels * height * width }

  /// Checks that the parts agree; `file` names the input in errors.
  public init(
    images: Pixels, channels: Int, height: Int, width: Int, labels: [Int64], classes: [String?] = [],
    mean: [Double]? = nil, std: [Double]? = nil, source: String? = nil, split: String? = nil, file: String
  ) throws {
    guard channels > 0, height > 0, width > 0 else {
      throw ImportError(.invalidDataset, file, "image shape \(channels)x\(height)x\(width) has a zero or negative size")
    }
    guard let perImage = checkedProduct([channels, height, width]),
      let total = checkedProduct([perImage, labels.count]), total == images.count
    else {
      throw ImportError(
        .invalidDataset,
        file, "\(images.count) pixel values do not make \(labels.count) images of \(channels)x\(height)x\(width)")
    }
    if case .f32(let values) = images, values.contains(where: { !$0.isFinite }) {
      throw ImportError(.invalidDataset, file, "image values must be finite; found NaN or infinity")
    }
    if let bad = labels.first(where: { $0 < 0 }) {
      throw ImportError(.invalidDataset, file, "label \(bad) is negative")
    }
    if let bad = labels.first(where: { $0 >= maxLabel }) {
      throw ImportError(.limitExceeded, file, "label \(bad) is too large (labels are below \(maxLabel))")
    }
    guard classes.count <= maxLabel else {
      throw ImportError(.limitExceeded, file, "\(classes.count) classes, more than the limit of \(maxLabel)")
    }
    let classCount = classes.isEmpty ? Int((labels.max() ?? -1) + 1) : classes.count
    if let bad = labels.first(where: { $0 >= classCount }) {
      throw ImportError(.invalidDataset, file, "label \(bad) has no class name (\(classes.count) classes)")
    }
    try Self.checkNormalisation(mean: mean, std: std, channels: channels, file: file)
    self.images = images
    self.channels = channels
    self.height = height
    self.width = width
    self.labels = labels
    // Unnamed classes default to their label number, so every dataset names its classes.
    self.classes = classes.isEmpty ? (0..<classCount).map { String($0) } : classes
    self.mean = mean
    self.std = std
    self.source = source
    self.split = split
  }

  /// Refuses a mean or std that does not fit `channels` or cannot normalise.
  static func checkNormalisation(mean: [Double]?, std: [Double]?, channels: Int, file: String) throws {
    for (name, values) in [("mean", mean), ("std", std)] {
      if let values, values.count != channels {
        throw ImportError(.invalidOption, file, "\(name) has \(values.count) values for \(channels) channels")
      }
    }
    if let mean, mean.contains(where: { !$0.isFinite }) {
      throw ImportError(.invalidOption, file, "mean values must be finite")
    }
    if let std, std.contains(where: { !($0 > 0 && $0.isFinite) }) {
      throw ImportError(.invalidOption, file, "std values must be positive and finite")
    }
  }

  /// The label of a class given by its name or its label number.
  public func label(ofClass token: String, file: String) throws -> Int64 {
    if let index = classes.firstIndex(where: { $0 == token }) { return Int64(index) }
    if let number = Int64(token), number >= 0, number < Int64(classes.count) { return number }
    let names = classes.compactMap { $0 }.joined(separator: ", ")
    throw ImportError(.notFound, file, "no class \"\(token)\" (classes: \(names))")
  }

  /// Number of images per label, indexed by label.
  public var countsPerClass: [Int] {
    var counts = [Int](repeating: 0, count: classes.count)
    for label in labels { counts[Int(label)] += 1 }
    return counts
  }

  /// The images at `indices`, in that order, with everything else kept.
  public func selecting(_ indices: [Int]) -> Dataset {
    var copy = self
    let size = pixelsPerImage
    func gather<T>(_ values: [T]) -> [T] {
      var out: [T] = []
      out.reserveCapacity(indices.count * size)
      values.withUnsafeBufferPointer { source in
        for index in indices { out.append(contentsOf: source[index * size..<(index + 1) * size]) }
      }
      return out
    }
    switch images {
    case .u8(let values): copy.images = .u8(gather(values))
    case .f32(let values): copy.images = .f32(gather(values))
    }
    copy.labels = indices.map { labels[$0] }
    return copy
  }
}
