import TensorFile

/// Images with a class for every pixel: what a segmentation dataset file holds (Formats/dataset.md,
/// "Segmentation datasets"). Images are (count, channels, height, width) as in `Dataset`; masks are
/// (count, height, width) class numbers, `DatasetLayout.ignoreLabel` for a pixel of no class.
public struct SegmentationDataset: Equatable, Sendable {
  public var images: Dataset.Pixels
  public var channels: Int
  public var height: Int
  public var width: Int
  /// Row-major, image after image.
  public var masks: [UInt8]
  /// Class names, index = mask value; nil for a class this dataset does not name.
  public var classes: [String?]
  /// Per-channel normalisation on the [0, 1] scale, as in `Dataset`.
  public var mean: [Double]?
  public var std: [Double]?
  public var source: String?
  public var split: String?

  public var count: Int { masks.count / (height * width) }
  public var pixelsPerImage: Int { channels * height * width }

  /// Checks that the parts agree and every mask value names a class or is the ignore value; without
  /// `classes` the classes are numbered 0 to the largest mask value. `file` names the input in errors.
  public init(
    images: Dataset.Pixels, channels: Int, height: Int, width: Int, masks: [UInt8], classes: [String?] = [],
    mean: [Double]? = nil, std: [Double]? = nil, source: String? = nil, split: String? = nil, file: String
  ) throws {
    guard channels > 0, height > 0, width > 0, let plane = checkedProduct([height, width]) else {
      throw ImportError(.invalidDataset, file, "image shape \(channels)x\(height)x\(width) has a zero or negative size")
    }
    let count = masks.count / plane
    guard masks.count % plane == 0, let perImage = checkedProduct([channels, plane]),
      let total = checkedProduct([perImage, count]), total == images.count
    else {
      throw ImportError(
        .invalidDataset,
        file,
        "\(images.count) pixel values and \(masks.count) mask values do not make images of \(channels)x\(height)x\(width) with their masks"
      )
    }
    if case .f32(let values) = images, values.contains(where: { !$0.isFinite }) {
      throw ImportError(.invalidDataset, file, "image values must be finite; found NaN or infinity")
    }
    let ignore = DatasetLayout.ignoreLabel
    guard classes.count <= Int(ignore) else {
      throw ImportError(
        .invalidDataset,
        file,
        "\(classes.count) classes: a segmentation dataset names at most \(ignore) (mask value \(ignore) is ignore)")
    }
    var largest = -1
    for value in masks where value != ignore { largest = max(largest, Int(value)) }
    let classCount = classes.isEmpty ? largest + 1 : classes.count
    if largest >= classCount, let index = masks.firstIndex(where: { $0 != ignore && Int($0) >= classCount }) {
      let (image, pixel) = index.quotientAndRemainder(dividingBy: plane)
      throw ImportError(
        .invalidDataset,
        file,
        "mask value \(masks[index]) (image \(image), row \(pixel / width), column \(pixel % width)) has no class "
          + "(\(classCount) classes; \(ignore) is ignore)")
    }
    try Dataset.checkNormalisation(mean: mean, std: std, channels: channels, file: file)
    self.images = images
    self.channels = channels
    self.height = height
    self.width = width
    self.masks = masks
    self.classes = classes.isEmpty ? (0..<classCount).map { String($0) } : classes
    self.mean = mean
    self.std = std
    self.source = source
    self.split = split
  }

  /// The images (and masks) at `indices`, in that order, with everything else kept.
  public func selecting(_ indices: [Int]) -> SegmentationDataset {
    func gather<T>(_ values: [T], _ size: Int) -> [T] {
      var out: [T] = []
      out.reserveCapacity(indices.count * size)
      values.withUnsafeBufferPointer { source in
        for index in indices { out.append(contentsOf: source[index * size..<(index + 1) * size]) }
      }
      return out
    }
    var copy = self
    switch images {
    case .u8(let values): copy.images = .u8(gather(values, pixelsPerImage))
    case .f32(let values): copy.images = .f32(gather(values, pixelsPerImage))
    }
    copy.masks = gather(masks, height * width)
    return copy
  }

  /// The deterministic split of `Dataset.splitting`, with every image in one class: round(testFraction
  /// * N) images, chosen by the seed, go to test.
  public func splitting(testFraction: Double, seed: UInt64, file: String) throws -> (
    train: SegmentationDataset, test: SegmentationDataset
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
    -> SegmentationDataset
  {
    guard fraction > 0, fraction <= 1 else {
      throw ImportError(.invalidOption, file, "fraction \(fraction) is not in (0, 1]")
    }
    return selecting(Dataset.sampleIndices(labels: oneClass, fraction: fraction, seed: seed, method: method))
  }

  private var oneClass: [Int64] { [Int64](repeating: 0, count: count) }

  /// Every image and its mask cut into tileHeight x tileWidth tiles that do not overlap, from the
  /// top left, row by row; the rows and columns left over at the bottom and right edges are dropped.
  public func tiled(height tileHeight: Int, width tileWidth: Int, file: String) throws -> SegmentationDataset {
    guard tileHeight > 0, tileWidth > 0, tileHeight <= height, tileWidth <= width else {
      throw ImportError(
        .invalidOption, file, "tiles of \(tileHeight)x\(tileWidth) do not fit images of \(height)x\(width)")
    }
    if tileHeight == height && tileWidth == width { return self }
    let (down, across) = (height / tileHeight, width / tileWidth)
    func cut<T>(_ values: [T], planes: Int) -> [T] {
      var out: [T] = []
      out.reserveCapacity(count * planes * down * across * tileHeight * tileWidth)
      for image in 0..<count {
        for tileRow in 0..<down {
          for tileColumn in 0..<across {
            for plane in 0..<planes {
              let planeStart = (image * planes + plane) * height * width
              for row in 0..<tileHeight {
                let start = planeStart + (tileRow * tileHeight + row) * width + tileColumn * tileWidth
                out.append(contentsOf: values[start..<start + tileWidth])
              }
            }
          }
        }
      }
      return out
    }
    var copy = self
    switch images {
    case .u8(let values): copy.images = .u8(cut(values, planes: channels))
    case .f32(let values): copy.images = .f32(cut(values, planes: channels))
    }
    copy.masks = cut(masks, planes: 1)
    copy.height = tileHeight
    copy.width = tileWidth
    return copy
  }

  /// Every image resized as `Dataset.resized` does, and every mask to the same size by nearest
  /// neighbour: output pixel i takes source pixel floor(i * in / out) on each axis (PyTorch's
  /// `nearest`), so masks keep their class numbers.
  public func resized(height outHeight: Int, width outWidth: Int, method: ResizeMethod, file: String) throws
    -> SegmentationDataset
  {
    guard outHeight > 0, outWidth > 0, outHeight <= 1 << 14, outWidth <= 1 << 14 else {
      throw ImportError(.invalidOption, file, "resize target \(outHeight)x\(outWidth) is out of range (1 to 16384)")
    }
    if outHeight == height && outWidth == width { return self }
    var copy = self
    copy.images = Dataset.resizing(
      images, count: count, channels: channels, height, width, to: outHeight, outWidth, method: method)
    let rows = (0..<outHeight).map { $0 * height / outHeight }
    let columns = (0..<outWidth).map { $0 * width / outWidth }
    var out: [UInt8] = []
    out.reserveCapacity(count * outHeight * outWidth)
    for image in 0..<count {
      for row in rows {
        let start = (image * height + row) * width
        for column in columns { out.append(masks[start + column]) }
      }
    }
    copy.masks = out
    copy.height = outHeight
    copy.width = outWidth
    return copy
  }

  /// Fills in mean and std from the images where they are not set, as `Dataset` does.
  public mutating func setStatisticsIfMissing() {
    guard mean == nil || std == nil else { return }
    let statistics = Dataset.normalisation(
      Dataset.channelStatistics(images, count: count, channels: channels, plane: height * width))
    if mean == nil { mean = statistics.mean }
    if std == nil { std = statistics.std }
  }

  /// The file's `__metadata__`: the dataset keys with `task` = segmentation; other keys in `extra` are kept.
  public func metadata(extra: [String: String] = [:]) -> [String: String] {
    var metadata = extra
    metadata[DatasetLayout.Key.dataset] = DatasetLayout.version
    metadata[DatasetLayout.Key.task] = DatasetLayout.Task.segmentation.rawValue
    metadata[DatasetLayout.Key.classes] = Dataset.json(classes)
    if let mean { metadata[DatasetLayout.Key.mean] = Dataset.json(mean) }
    if let std { metadata[DatasetLayout.Key.std] = Dataset.json(std) }
    if let source { metadata[DatasetLayout.Key.source] = source }
    if let split { metadata[DatasetLayout.Key.split] = split }
    return metadata
  }

  /// The dataset as tensors `images` (N, C, H, W) U8/F32 and `masks` (N, H, W) U8 with its metadata.
  public func tensors(extra: [String: String] = [:], file: String) throws -> ImportedTensors {
    let (dtype, imageBytes) = images.stored
    return ImportedTensors(
      metadata: metadata(extra: extra),
      tensors: [
        (
          try TensorInfo(
            name: DatasetLayout.images, dtype: dtype, shape: [count, channels, height, width], file: file), imageBytes
        ),
        (try TensorInfo(name: DatasetLayout.masks, dtype: .u8, shape: [count, height, width], file: file), masks),
      ])
  }

  /// Reads a segmentation dataset file through an open TensorReader, checking its layout.
  public init(reader: TensorReader) throws {
    let file = reader.path
    let task = reader.metadata[DatasetLayout.Key.task]
    guard task == DatasetLayout.Task.segmentation.rawValue else {
      throw ImportError(
        .invalidDataset, file, "not a segmentation dataset: its task is \(task ?? "classification (no task key)")")
    }
    guard let imagesInfo = reader.info(DatasetLayout.images), let masksInfo = reader.info(DatasetLayout.masks) else {
      throw ImportError(.invalidDataset, file, "not a segmentation dataset: it needs tensors \"images\" and \"masks\"")
    }
    if let other = reader.tensors.first(where: { $0.name != DatasetLayout.images && $0.name != DatasetLayout.masks }) {
      throw ImportError(
        .invalidDataset,
        file, "not a segmentation dataset: unexpected tensor \"\(other.name)\" besides images and masks")
    }
    let shape = imagesInfo.shape
    guard shape.count == 4, imagesInfo.dtype == .u8 || imagesInfo.dtype == .f32 else {
      throw ImportError(
        .invalidDataset,
        file, "tensor images must be U8 or F32 (N, C, H, W), found \(imagesInfo.dtype.name) \(imagesInfo.shape)")
    }
    guard masksInfo.dtype == .u8, masksInfo.shape == [shape[0], shape[2], shape[3]] else {
      throw ImportError(
        .invalidDataset,
        file,
        "tensor masks must be U8 (N, H, W) = \([shape[0], shape[2], shape[3]]) for images \(shape), found \(masksInfo.dtype.name) \(masksInfo.shape)"
      )
    }
    var imageBytes: [UInt8] = []
    var maskBytes: [UInt8] = []
    try reader.forEachTensor { info, bytes in
      if info.name == DatasetLayout.images { imageBytes = bytes } else { maskBytes = bytes }
    }
    let pixels: Dataset.Pixels =
      imagesInfo.dtype == .u8
      ? .u8(imageBytes)
      : .f32(
        imageBytes.withUnsafeBytes { raw in
          (0..<imagesInfo.elementCount).map {
            Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)))
          }
        })
    let parsed = try Dataset.parseMetadata(reader.metadata, file: file)
    try self.init(
      images: pixels, channels: shape[1], height: shape[2], width: shape[3], masks: maskBytes,
      classes: parsed.classes, mean: parsed.mean, std: parsed.std, source: parsed.source,
      split: parsed.split, file: file)
  }
}
