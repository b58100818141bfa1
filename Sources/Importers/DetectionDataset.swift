import TensorFile

/// Images with any number of class-labelled boxes each: what a detection dataset file holds
/// (Formats/dataset.md, "Detection datasets"). Images are (count, channels, height, width) as in
/// `Dataset`; the boxes of all images are one list, image after image, cut by `boxOffsets`.
public struct DetectionDataset: Equatable, Sendable {
  public var images: Dataset.Pixels
  public var channels: Int
  public var height: Int
  public var width: Int
  /// (M, 4) row-major: each box's corners x0, y0, x1, y1 in pixel coordinates (the image's top-left
  /// corner is (0, 0), pixel (r, c) covers [c, c + 1) x [r, r + 1)).
  public var boxes: [Float]
  /// (M): each box's class, an index into `classes`.
  public var boxLabels: [Int64]
  /// (N + 1): image i's boxes are rows boxOffsets[i] ..< boxOffsets[i + 1].
  public var boxOffsets: [Int]
  /// Class names, index = label; nil for a label this dataset does not name.
  public var classes: [String?]
  /// Per-channel normalisation on the [0, 1] scale, as in `Dataset`.
  public var mean: [Double]?
  public var std: [Double]?
  public var source: String?
  public var split: String?

  public var count: Int { boxOffsets.count - 1 }
  public var boxCount: Int { boxLabels.count }
  public var pixelsPerImage: Int { channels * height * width }

  /// Checks that the parts agree and every box is a box of its image with a class (`boxProblem`);
  /// without `classes` the classes are numbered 0 to the largest label. `file` names the input in errors.
  public init(
    images: Dataset.Pixels, channels: Int, height: Int, width: Int, boxes: [Float], boxLabels: [Int64],
    boxOffsets: [Int], classes: [String?] = [], mean: [Double]? = nil, std: [Double]? = nil, source: String? = nil,
    split: String? = nil, file: String
  ) throws {
    guard channels > 0, height > 0, width > 0, let perImage = checkedProduct([channels, height, width]) else {
      throw ImportError(.invalidDataset, file, "image shape \(channels)x\(height)x\(width) has a zero or negative size")
    }
    let count = boxOffsets.count - 1
    guard count >= 0, let total = checkedProduct([perImage, count]), total == images.count else {
      throw ImportError(
        .invalidDataset,
        file, "\(images.count) pixel values do not make \(max(count, 0)) images of \(channels)x\(height)x\(width)")
    }
    guard boxes.count == 4 * boxLabels.count else {
      throw ImportError(
        .invalidDataset, file, "\(boxes.count) box coordinates for \(boxLabels.count) box labels (4 each)")
    }
    if case .f32(let values) = images, values.contains(where: { !$0.isFinite }) {
      throw ImportError(.invalidDataset, file, "image values must be finite; found NaN or infinity")
    }
    if let bad = boxLabels.first(where: { $0 >= maxLabel }) {
      throw ImportError(.limitExceeded, file, "box label \(bad) is too large (labels are below \(maxLabel))")
    }
    let classCount = classes.isEmpty ? Int((boxLabels.max() ?? -1) + 1) : classes.count
    if let problem = Self.boxProblem(
      boxes: boxes, labels: boxLabels.map { Int($0) }, offsets: boxOffsets, classCount: classCount, width: width,
      height: height)
    {
      throw ImportError(.invalidDataset, file, problem)
    }
    try Dataset.checkNormalisation(mean: mean, std: std, channels: channels, file: file)
    self.images = images
    self.channels = channels
    self.height = height
    self.width = width
    self.boxes = boxes
    self.boxLabels = boxLabels
    self.boxOffsets = boxOffsets
    self.classes = classes.isEmpty ? (0..<classCount).map { String($0) } : classes
    self.mean = mean
    self.std = std
    self.source = source
    self.split = split
  }

  /// What is wrong with a detection dataset's boxes, or nil: the offsets must start at 0, never
  /// decrease and end at the number of boxes; every box must have finite corners with x0 < x1 and
  /// y0 < y1, lie inside its `width` x `height` image (0 <= x0, x1 <= width, and the same for y), and
  /// have a label in 0 ..< `classCount`. `boxes` holds 4 numbers per label. The one check of these
  /// rules, for kswap-pack (ImportError) and the swap tools (Swap's DetectionFile).
  public static func boxProblem(
    boxes: [Float], labels: [Int], offsets: [Int], classCount: Int, width: Int, height: Int
  ) -> String? {
    precondition(boxes.count == 4 * labels.count, "4 coordinates per box")
    guard let first = offsets.first, let last = offsets.last else {
      return "box_offsets is empty; it has one more value than there are images"
    }
    guard first == 0 else { return "box_offsets starts at \(first); the first image's boxes start at row 0" }
    for image in 0..<(offsets.count - 1) where offsets[image + 1] < offsets[image] {
      return "box_offsets decreases after image \(image) (\(offsets[image]), then \(offsets[image + 1]))"
    }
    guard last == labels.count else { return "box_offsets ends at \(last); there are \(labels.count) boxes" }
    var image = 0
    for row in 0..<labels.count {
      while offsets[image + 1] <= row { image += 1 }
      let (x0, y0, x1, y1) = (boxes[4 * row], boxes[4 * row + 1], boxes[4 * row + 2], boxes[4 * row + 3])
      let place = "box \(row) (image \(image), x0 y0 x1 y1 = \(x0) \(y0) \(x1) \(y1))"
      guard [x0, y0, x1, y1].allSatisfy(\.isFinite) else { return "\(place) has a coordinate that is not a number" }
      guard x0 < x1, y0 < y1 else { return "\(place) has a width or height of 0 or less" }
      guard x0 >= 0, y0 >= 0, x1 <= Float(width), y1 <= Float(height) else {
        return "\(place) is not inside its \(width)x\(height) image"
      }
      guard labels[row] >= 0, labels[row] < classCount else {
        return "\(place) has label \(labels[row]); the file names \(classCount) classes (0 to \(classCount - 1))"
      }
    }
    return nil
  }

  /// The boxes of image `index`: their rows in `boxes` and `boxLabels`.
  public func boxRows(of index: Int) -> Range<Int> { boxOffsets[index]..<boxOffsets[index + 1] }

  /// The images at `indices`, in that order, with their boxes, everything else kept.
  public func selecting(_ indices: [Int]) -> DetectionDataset {
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
    copy.boxes = []
    copy.boxLabels = []
    copy.boxOffsets = [0]
    for index in indices {
      let rows = boxRows(of: index)
      copy.boxes += boxes[(4 * rows.lowerBound)..<(4 * rows.upperBound)]
      copy.boxLabels += boxLabels[rows]
      copy.boxOffsets.append(copy.boxLabels.count)
    }
    return copy
  }

  /// The deterministic split of `Dataset.splitting`, with every image in one class (as a segmentation
  /// dataset's): round(testFraction * N) images, chosen by the seed, go to test.
  public func splitting(testFraction: Double, seed: UInt64, file: String) throws -> (
    train: DetectionDataset, test: DetectionDataset
  ) {
    guard testFraction >= 0, testFraction <= 1 else {
      throw ImportError(.invalidOption, file, "test fraction \(testFraction) is not between 0 and 1")
    }
    let parts = Dataset.splitIndices(labels: oneClass, testFraction: testFraction, seed: seed)
    var train = selecting(parts.train)
    var test = selecting(parts.test)
    train.split = "train"
    test.split = "test"
    return (train, test)
  }

  /// The seeded sample of `Dataset.sampling`, with every image in one class.
  public func sampling(fraction: Double, seed: UInt64, method: SamplingMethod = .stratified, file: String) throws
    -> DetectionDataset
  {
    guard fraction > 0, fraction <= 1 else {
      throw ImportError(.invalidOption, file, "fraction \(fraction) is not in (0, 1]")
    }
    return selecting(Dataset.sampleIndices(labels: oneClass, fraction: fraction, seed: seed, method: method))
  }

  private var oneClass: [Int64] { [Int64](repeating: 0, count: count) }

  /// Every image resized as `Dataset.resized` does, and every box with it: x' = x * W' / W and
  /// y' = y * H' / H in double precision, rounded to F32 (both resize methods map pixel edges so).
  /// A box that becomes empty on the way (a tiny box shrunk to less than F32 can tell) is refused.
  public func resized(height outHeight: Int, width outWidth: Int, method: ResizeMethod, file: String) throws
    -> DetectionDataset
  {
    guard outHeight > 0, outWidth > 0, outHeight <= 1 << 14, outWidth <= 1 << 14 else {
      throw ImportError(.invalidOption, file, "resize target \(outHeight)x\(outWidth) is out of range (1 to 16384)")
    }
    if outHeight == height && outWidth == width { return self }
    let images = Dataset.resizing(
      images, count: count, channels: channels, height, width, to: outHeight, outWidth, method: method)
    let scales = [Double(outWidth) / Double(width), Double(outHeight) / Double(height)]
    let scaled = boxes.indices.map { Float(Double(boxes[$0]) * scales[$0 % 2]) }
    return try DetectionDataset(
      images: images, channels: channels, height: outHeight, width: outWidth, boxes: scaled, boxLabels: boxLabels,
      boxOffsets: boxOffsets, classes: classes, mean: mean, std: std, source: source, split: split, file: file)
  }

  /// Fills in mean and std from the images where they are not set, as `Dataset` does.
  public mutating func setStatisticsIfMissing() {
    guard mean == nil || std == nil else { return }
    let statistics = Dataset.normalisation(
      Dataset.channelStatistics(images, count: count, channels: channels, plane: height * width))
    if mean == nil { mean = statistics.mean }
    if std == nil { std = statistics.std }
  }

  /// The file's `__metadata__`: the dataset keys with `task` = detection; other keys in `extra` are kept.
  public func metadata(extra: [String: String] = [:]) -> [String: String] {
    var metadata = extra
    metadata[DatasetLayout.Key.dataset] = DatasetLayout.version
    metadata[DatasetLayout.Key.task] = DatasetLayout.Task.detection.rawValue
    metadata[DatasetLayout.Key.classes] = Dataset.json(classes)
    if let mean { metadata[DatasetLayout.Key.mean] = Dataset.json(mean) }
    if let std { metadata[DatasetLayout.Key.std] = Dataset.json(std) }
    if let source { metadata[DatasetLayout.Key.source] = source }
    if let split { metadata[DatasetLayout.Key.split] = split }
    return metadata
  }

  /// The dataset as tensors `images` (N, C, H, W) U8/F32, `boxes` (M, 4) F32, `box_labels` (M) I64
  /// and `box_offsets` (N + 1) I64, with its metadata.
  public func tensors(extra: [String: String] = [:], file: String) throws -> ImportedTensors {
    let (dtype, imageBytes) = images.stored
    func int64Bytes(_ values: [Int64]) -> [UInt8] { values.map { $0.littleEndian }.withUnsafeBytes { [UInt8]($0) } }
    return ImportedTensors(
      metadata: metadata(extra: extra),
      tensors: [
        (
          try TensorInfo(
            name: DatasetLayout.images, dtype: dtype, shape: [count, channels, height, width], file: file), imageBytes
        ),
        (
          try TensorInfo(name: DatasetLayout.boxes, dtype: .f32, shape: [boxCount, 4], file: file),
          Dataset.Pixels.f32(boxes).stored.bytes
        ),
        (
          try TensorInfo(name: DatasetLayout.boxLabels, dtype: .i64, shape: [boxCount], file: file),
          int64Bytes(boxLabels)
        ),
        (
          try TensorInfo(name: DatasetLayout.boxOffsets, dtype: .i64, shape: [count + 1], file: file),
          int64Bytes(boxOffsets.map { Int64($0) })
        ),
      ])
  }

  /// Reads a detection dataset file through an open TensorReader, checking its layout.
  public init(reader: TensorReader) throws {
    let file = reader.path
    let task = reader.metadata[DatasetLayout.Key.task]
    guard task == DatasetLayout.Task.detection.rawValue else {
      throw ImportError(
        .invalidDataset, file, "not a detection dataset: its task is \(task ?? "classification (no task key)")")
    }
    let names = [DatasetLayout.images, DatasetLayout.boxes, DatasetLayout.boxLabels, DatasetLayout.boxOffsets]
    guard let imagesInfo = reader.info(DatasetLayout.images), let boxesInfo = reader.info(DatasetLayout.boxes),
      let labelsInfo = reader.info(DatasetLayout.boxLabels), let offsetsInfo = reader.info(DatasetLayout.boxOffsets)
    else {
      throw ImportError(
        .invalidDataset,
        file, "not a detection dataset: it needs tensors \"images\", \"boxes\", \"box_labels\" and \"box_offsets\"")
    }
    if let other = reader.tensors.first(where: { !names.contains($0.name) }) {
      throw ImportError(
        .invalidDataset,
        file,
        "not a detection dataset: unexpected tensor \"\(other.name)\" besides images, boxes, box_labels and box_offsets"
      )
    }
    let shape = imagesInfo.shape
    guard shape.count == 4, imagesInfo.dtype == .u8 || imagesInfo.dtype == .f32 else {
      throw ImportError(
        .invalidDataset,
        file, "tensor images must be U8 or F32 (N, C, H, W), found \(imagesInfo.dtype.name) \(imagesInfo.shape)")
    }
    let boxCount = labelsInfo.shape.first ?? 0
    guard boxesInfo.dtype == .f32, boxesInfo.shape == [boxCount, 4], labelsInfo.dtype == .i64,
      labelsInfo.shape.count == 1, offsetsInfo.dtype == .i64, offsetsInfo.shape == [shape[0] + 1]
    else {
      throw ImportError(
        .invalidDataset,
        file,
        "tensors boxes, box_labels and box_offsets must be F32 (M, 4), I64 (M) and I64 (\(shape[0] + 1)) for "
          + "\(shape[0]) images, found \(boxesInfo.dtype.name) \(boxesInfo.shape), \(labelsInfo.dtype.name) "
          + "\(labelsInfo.shape), \(offsetsInfo.dtype.name) \(offsetsInfo.shape)")
    }
    var bytes: [String: [UInt8]] = [:]
    try reader.forEachTensor { info, data in bytes[info.name] = data }
    let pixels: Dataset.Pixels =
      imagesInfo.dtype == .u8 ? .u8(bytes[DatasetLayout.images] ?? []) : .f32(floats(bytes[DatasetLayout.images]))
    let parsed = try Dataset.parseMetadata(reader.metadata, file: file)
    try self.init(
      images: pixels, channels: shape[1], height: shape[2], width: shape[3],
      boxes: floats(bytes[DatasetLayout.boxes]), boxLabels: int64s(bytes[DatasetLayout.boxLabels]),
      boxOffsets: int64s(bytes[DatasetLayout.boxOffsets]).map { Int(clamping: $0) }, classes: parsed.classes,
      mean: parsed.mean, std: parsed.std, source: parsed.source, split: parsed.split, file: file)
  }
}

/// Little-endian F32 values.
func floats(_ bytes: [UInt8]?) -> [Float] {
  (bytes ?? []).withUnsafeBytes { raw in
    (0..<(raw.count / 4)).map {
      Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)))
    }
  }
}

/// Little-endian I64 values.
func int64s(_ bytes: [UInt8]?) -> [Int64] {
  (bytes ?? []).withUnsafeBytes { raw in
    (0..<(raw.count / 8)).map { Int64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)) }
  }
}
