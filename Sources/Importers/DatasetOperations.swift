import SeededRandom

/// How `sampling` picks a fraction of a dataset.
public enum SamplingMethod: String, CaseIterable, Sendable {
  /// The same share of every class (rounded per class).
  case stratified
  /// A uniform subset of the whole set, whatever the classes.
  case random
}

/// Dataset operations kswap-pack applies after importing, in this order: pick classes, split,
/// take a fraction, relabel, resize (Formats/dataset.md). Each keeps the images' original order.
extension Dataset {
  /// Keeps only the images whose label is in `picked`; labels and class names are unchanged.
  public func pickingClasses(_ picked: [Int64], file: String) throws -> Dataset {
    guard !picked.isEmpty else { throw ImportError(.invalidOption, file, "no classes picked") }
    let wanted = Set(picked)
    guard wanted.count == picked.count else { throw ImportError(.invalidOption, file, "a class is picked twice") }
    return selecting(labels.indices.filter { wanted.contains(labels[$0]) })
  }

  /// Maps `order[i]` to label i (the picked classes in the order given) and names the classes
  /// accordingly. Every label in the dataset must be in `order`.
  public func compactingLabels(_ order: [Int64], file: String) throws -> Dataset {
    var newLabel: [Int64: Int64] = [:]
    for (index, label) in order.enumerated() { newLabel[label] = Int64(index) }
    var copy = self
    copy.labels = try labels.map { label in
      guard let mapped = newLabel[label] else {
        throw ImportError(.invalidOption, file, "label \(label) is not among the classes to relabel")
      }
      return mapped
    }
    copy.classes = order.map { classes[Int($0)] }
    return copy
  }

  /// Adds `offset` to every label, e.g. to place new classes after a model's existing ones;
  /// the class names below the offset become nil (not named by this dataset).
  public func offsettingLabels(by offset: Int, file: String) throws -> Dataset {
    guard offset >= 0 else { throw ImportError(.invalidOption, file, "label offset \(offset) is negative") }
    guard offset + classes.count <= maxLabel else {
      throw ImportError(
        .limitExceeded, file,
        "label offset \(offset) makes \(offset + classes.count) classes, more than the limit of \(maxLabel)")
    }
    var copy = self
    copy.labels = labels.map { $0 + Int64(offset) }
    copy.classes = [String?](repeating: nil, count: offset) + classes
    return copy
  }

  /// A deterministic stratified split: in each class, the images are shuffled with a generator
  /// seeded by (seed, label), the first round(testFraction * n) go to test and the rest to train.
  /// Both parts keep the original order. The same seed always gives the same, disjoint parts.
  public func splitting(testFraction: Double, seed: UInt64, file: String) throws -> (train: Dataset, test: Dataset) {
    guard testFraction >= 0, testFraction <= 1 else {
      throw ImportError(.invalidOption, file, "test fraction \(testFraction) is not between 0 and 1")
    }
    let parts = Self.splitIndices(labels: labels, testFraction: testFraction, seed: seed)
    var train = selecting(parts.train)
    var test = selecting(parts.test)
    train.split = "train"
    test.split = "test"
    return (train, test)
  }

  /// A seeded sample in original order. `.stratified`: round(fraction * n) images of each class.
  /// `.random`: int(fraction * N) images of the whole set whatever their class (the official code's
  /// `randperm(N)[:int(fraction * N)]`, drawn with SplitMix64, so not torch's images).
  public func sampling(fraction: Double, seed: UInt64, method: SamplingMethod = .stratified, file: String) throws
    -> Dataset
  {
    guard fraction > 0, fraction <= 1 else {
      throw ImportError(.invalidOption, file, "fraction \(fraction) is not in (0, 1]")
    }
    return selecting(Self.sampleIndices(labels: labels, fraction: fraction, seed: seed, method: method))
  }

  /// The indices `splitting` puts in each part, in original order, for images with these labels.
  static func splitIndices(labels: [Int64], testFraction: Double, seed: UInt64) -> (train: [Int], test: [Int]) {
    let chosen = stratifiedChoice(labels: labels, fraction: testFraction, seed: seed, stream: 0x5EED_5B17)
    return (labels.indices.filter { !chosen[$0] }, labels.indices.filter { chosen[$0] })
  }

  /// The indices `sampling` keeps, in original order, for images with these labels.
  static func sampleIndices(labels: [Int64], fraction: Double, seed: UInt64, method: SamplingMethod) -> [Int] {
    switch method {
    case .stratified:
      let chosen = stratifiedChoice(labels: labels, fraction: fraction, seed: seed, stream: 0xF2AC_7107)
      return labels.indices.filter { chosen[$0] }
    case .random:
      var generator = SeededGenerator(seed: seed ^ 0x7A2D_0B5E_11E5_3A17)
      var order = Array(labels.indices)
      generator.shuffle(&order)
      // Truncated like Python's int(), not rounded: the official code's count.
      let take = Int(fraction * Double(labels.count))
      return order.prefix(take).sorted()
    }
  }

  /// Per-channel mean and standard deviation (population) on the [0, 1] scale.
  public func channelStatistics() -> (mean: [Double], std: [Double]) {
    Self.channelStatistics(images, count: count, channels: channels, plane: height * width)
  }

  /// The same for `count` images of `channels` planes of `plane` pixels.
  static func channelStatistics(_ images: Pixels, count: Int, channels: Int, plane: Int) -> (
    mean: [Double], std: [Double]
  ) {
    var sums = [Double](repeating: 0, count: channels)
    var squares = [Double](repeating: 0, count: channels)
    // Concrete loops over raw buffers: this runs over every pixel, in debug builds too.
    switch images {
    case .u8(let values):
      values.withUnsafeBufferPointer { buffer in
        for image in 0..<count {
          for channel in 0..<channels {
            let start = (image * channels + channel) * plane
            var sum: UInt64 = 0, square: UInt64 = 0
            for index in start..<start + plane {
              let x = UInt64(buffer[index])
              sum &+= x
              square &+= x &* x
            }
            sums[channel] += Double(sum) / 255
            squares[channel] += Double(square) / (255 * 255)
          }
        }
      }
    case .f32(let values):
      values.withUnsafeBufferPointer { buffer in
        for image in 0..<count {
          for channel in 0..<channels {
            let start = (image * channels + channel) * plane
            var sum = 0.0, square = 0.0
            for index in start..<start + plane {
              let x = Double(buffer[index])
              sum += x
              square += x * x
            }
            sums[channel] += sum
            squares[channel] += square
          }
        }
      }
    }
    let n = Double(max(count * plane, 1))
    let mean = sums.map { $0 / n }
    let std = zip(squares, mean).map { max($0 / n - $1 * $1, 0).squareRoot() }
    return (mean, std)
  }

  /// Marks, per image, whether it is among the round(fraction * n) chosen of its class.
  private static func stratifiedChoice(labels: [Int64], fraction: Double, seed: UInt64, stream: UInt64) -> [Bool] {
    var byClass: [Int64: [Int]] = [:]
    for (index, label) in labels.enumerated() { byClass[label, default: []].append(index) }
    var chosen = [Bool](repeating: false, count: labels.count)
    for (label, members) in byClass {
      var generator = SeededGenerator(seed: (seed ^ stream) &+ UInt64(bitPattern: label) &* 0x9E37_79B9_7F4A_7C15)
      var order = members
      generator.shuffle(&order)
      let take = Int((fraction * Double(members.count)).rounded())
      for index in order.prefix(take) { chosen[index] = true }
    }
    return chosen
  }
}
