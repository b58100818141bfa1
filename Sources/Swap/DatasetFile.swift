// Reading a dataset file (Formats/dataset.md): `images` (N, C, H, W) as U8 or a float type, `labels`
// (N) as I64 or, in a segmentation dataset, `masks` (N, H, W) as U8, class names in `__metadata__`
// (detection datasets: DetectionFile).
// Every way the file can disagree with itself is refused here, naming the file, before any training
// starts; so is a dataset of the other task.

import Foundation
import Importers
import TensorFile

public struct DatasetFile: Sendable {
  public let path: String
  /// The images with the dataset's own labels (indices into `classes`).
  public var images: LabeledImages
  /// The dataset's class names by label; an unnamed label is called by its number.
  public var classes: [String]

  /// Reads `path`, a classification dataset; images will be normalised with `mean` and `std` (the
  /// model's, per channel; grey images are repeated to that many channels), or without them left at
  /// their [0, 1] values.
  public init(path: String, mean: [Float]? = nil, std: [Float]? = nil) throws {
    self.path = path
    let reader = try TensorReader(path: path)
    try Self.require(.classification, reader: reader)
    guard let imageInfo = reader.info(DatasetLayout.images), let labelInfo = reader.info(DatasetLayout.labels) else {
      if reader.info(DatasetLayout.masks) != nil {
        throw SwapError(
          .invalidDataset, file: path, "not a dataset file: it has 'masks' but no metadata task 'segmentation'")
      }
      if reader.info(DatasetLayout.boxes) != nil {
        throw SwapError(
          .invalidDataset, file: path, "not a dataset file: it has 'boxes' but no metadata task 'detection'")
      }
      throw SwapError(
        .invalidDataset, file: path, "not a dataset file: it needs tensors 'images' (N, C, H, W) and 'labels' (N)")
    }
    let (count, channels, height, width) = try Self.imageShape(imageInfo, path: path)
    guard labelInfo.shape == [count] else {
      throw SwapError(
        .invalidDataset, file: path, "tensor 'labels' has shape \(labelInfo.shape); expected (\(count)), one per image")
    }
    let pixels = try Self.pixels(reader, imageInfo, path: path)
    let labels = try Self.integers(reader.bytes(of: DatasetLayout.labels), dtype: labelInfo.dtype, file: path)
    let names = try Self.classNames(reader, path: path) ?? []
    if !names.isEmpty, let bad = labels.first(where: { $0 < 0 || $0 >= names.count }) {
      throw SwapError(
        .invalidDataset, file: path, "label \(bad) is out of range: the file names \(names.count) classes")
    }
    if let bad = labels.first(where: { $0 < 0 }) {
      throw SwapError(.invalidDataset, file: path, "label \(bad) is negative")
    }
    // A class is made for every label up to the largest: bounded as kswap-pack bounds them.
    if let bad = labels.first(where: { $0 >= Int(maxLabel) }) {
      throw SwapError(.limitExceeded, file: path, "label \(bad) is too large (labels are below \(maxLabel))")
    }
    classes = Self.namesByLabel(names, count: max(names.count, (labels.max() ?? -1) + 1))
    let (mean, std) = (mean ?? Array(repeating: 0, count: channels), std ?? Array(repeating: 1, count: channels))
    images = LabeledImages(
      pixels: pixels, labels: labels, channels: channels, height: height, width: width,
      mean: mean, std: std)
    // Grey images for an RGB model are repeated to its channels, as torchvision's Grayscale(3) does.
    guard mean.count == std.count, let adapted = images.repeatingGrey(toChannels: mean.count) else {
      throw Self.channelMismatch(channels, mean.count, path: path)
    }
    images = adapted
  }

  /// The task of the dataset at `path`, from its metadata alone (no tensor is read), so a tool can
  /// choose its reader or refuse the file before reading it.
  public static func task(of path: String) throws -> DatasetLayout.Task {
    try task(of: TensorReader(path: path))
  }

  static func task(of reader: TensorReader) throws -> DatasetLayout.Task {
    guard let text = reader.metadata[DatasetLayout.Key.task] else { return .classification }
    guard let task = DatasetLayout.Task(rawValue: text) else {
      let known = DatasetLayout.Task.allCases.map { "'\($0.rawValue)'" }.joined(separator: " or ")
      throw SwapError(.invalidDataset, file: reader.path, "metadata 'task' is '\(text.prefix(80))'; expected \(known)")
    }
    return task
  }

  /// Refuses a dataset of another task than `expected`, naming the file and the task it holds.
  static func require(_ expected: DatasetLayout.Task, reader: TensorReader) throws {
    let found = try task(of: reader)
    guard found != expected else { return }
    throw SwapError(.wrongFile, file: reader.path, "\(described(found)); \(described(expected)) is needed here")
  }

  /// "a classification dataset (one label per image)" and the like, for messages.
  static func described(_ task: DatasetLayout.Task) -> String {
    switch task {
    case .classification: return "a classification dataset (one label per image)"
    case .segmentation: return "a segmentation dataset (metadata task 'segmentation', a class per pixel)"
    case .detection: return "a detection dataset (metadata task 'detection', boxes per image)"
    }
  }

  /// (N, C, H, W) of `images`; N must be at least 1.
  static func imageShape(_ info: TensorInfo, path: String) throws -> (Int, Int, Int, Int) {
    guard info.shape.count == 4 else {
      throw SwapError(.invalidDataset, file: path, "tensor 'images' has shape \(info.shape); expected (N, C, H, W)")
    }
    guard info.shape[0] > 0 else { throw SwapError(.invalidDataset, file: path, "the dataset is empty (0 images)") }
    guard info.shape[1...].allSatisfy({ $0 > 0 }) else {
      throw SwapError(
        .invalidDataset, file: path, "tensor 'images' has shape \(info.shape); an image needs C, H and W of 1 or more")
    }
    return (info.shape[0], info.shape[1], info.shape[2], info.shape[3])
  }

  /// The images as stored: bytes, or finite floats.
  static func pixels(_ reader: TensorReader, _ info: TensorInfo, path: String) throws -> LabeledImages.Pixels {
    switch info.dtype {
    case .u8: return .bytes(try reader.bytes(of: DatasetLayout.images))
    case .f16, .bf16, .f32, .f64:
      let values = try reader.floats(of: DatasetLayout.images)
      guard values.allSatisfy({ $0.isFinite }) else {
        throw SwapError(.invalidDataset, file: path, "'images' holds NaN or infinity")
      }
      return .floats(values)
    default:
      throw SwapError(.invalidDataset, file: path, "tensor 'images' is \(info.dtype.name); expected U8 or a float type")
    }
  }

  /// The metadata's `classes`, nil when the file has none.
  static func classNames(_ reader: TensorReader, path: String) throws -> [String?]? {
    guard let text = reader.metadata[DatasetLayout.Key.classes] else { return nil }
    guard let decoded = try? JSONDecoder().decode([String?].self, from: Data(text.utf8)) else {
      throw SwapError(.invalidDataset, file: path, "metadata 'classes' is not a JSON array of names")
    }
    guard decoded.count <= maxLabel else {
      throw SwapError(
        .limitExceeded, file: path,
        "metadata 'classes' names \(decoded.count) classes, more than the limit of \(maxLabel)")
    }
    return decoded
  }

  /// `count` class names by label: the file's, or the label's number where it names none.
  static func namesByLabel(_ names: [String?], count: Int) -> [String] {
    (0..<count).map { label in label < names.count ? (names[label] ?? String(label)) : String(label) }
  }

  static func channelMismatch(_ channels: Int, _ modelChannels: Int, path: String) -> SwapError {
    let hint = channels > modelChannels ? " (colour images are not made grey here: convert them first)" : ""
    return SwapError(.mismatch, file: path, "images have \(channels) channels; the model takes \(modelChannels)\(hint)")
  }

  /// The labels of the classes that actually occur, sorted.
  public var presentLabels: [Int] { Array(Set(images.labels)).sorted() }

  public static func integers(_ bytes: [UInt8], dtype: DType, file: String) throws -> [Int] {
    func read<T: FixedWidthInteger>(_: T.Type) -> [Int] {
      let width = MemoryLayout<T>.size
      return (0..<(bytes.count / width)).map { i in
        var value: T = 0
        withUnsafeMutableBytes(of: &value) { $0.copyBytes(from: bytes[(i * width)..<((i + 1) * width)]) }
        return Int(truncatingIfNeeded: T(littleEndian: value))
      }
    }
    switch dtype {
    case .i64: return read(Int64.self)
    case .i32: return read(Int32.self)
    case .u8: return read(UInt8.self)
    default: throw SwapError(.invalidDataset, file: file, "tensor 'labels' is \(dtype.name); expected I64")
    }
  }
}

extension DatasetFile {
  /// Names of the classes that have images in the file, in label order.
  public var presentClasses: [String] { presentLabels.map { classes[$0] } }

  /// The images with labels moved to model rows; `rows` follows `presentClasses`.
  public func relabeled(rows: [Int]) throws -> LabeledImages {
    var table = [Int](repeating: -1, count: classes.count)
    for (label, row) in zip(presentLabels, rows) { table[label] = row }
    return try images.relabeled(table, file: path)
  }

  /// The images labelled with the model's rows; every class in the file must be one of `map`'s.
  public func labeled(by map: ClassMap) throws -> LabeledImages {
    try relabeled(rows: map.knownRows(for: presentClasses, file: path))
  }
}

/// A segmentation dataset file (Formats/dataset.md, "Segmentation datasets"): images and a class per
/// pixel, read with every check of `DatasetFile` and those of the masks.
public struct SegmentationFile: Sendable {
  public let path: String
  /// The images with the dataset's own mask values (indices into `classes`, or the ignore value).
  public var images: SegmentedImages
  /// The dataset's class names by mask value; an unnamed value is called by its number.
  public var classes: [String]

  /// Reads `path`, a segmentation dataset; `mean` and `std` as for `DatasetFile`.
  public init(path: String, mean: [Float]? = nil, std: [Float]? = nil) throws {
    self.path = path
    let reader = try TensorReader(path: path)
    if reader.metadata[DatasetLayout.Key.task] == nil, reader.info(DatasetLayout.masks) != nil {
      throw SwapError(
        .invalidDataset, file: path, "not a dataset file: it has 'masks' but no metadata task 'segmentation'")
    }
    try DatasetFile.require(.segmentation, reader: reader)
    guard let imageInfo = reader.info(DatasetLayout.images), let maskInfo = reader.info(DatasetLayout.masks) else {
      throw SwapError(
        .invalidDataset, file: path,
        "not a segmentation dataset file: it needs tensors 'images' (N, C, H, W) and 'masks' (N, H, W)")
    }
    if reader.info(DatasetLayout.labels) != nil {
      throw SwapError(
        .invalidDataset, file: path, "holds both 'labels' and 'masks'; a segmentation dataset has only 'masks'")
    }
    let (count, channels, height, width) = try DatasetFile.imageShape(imageInfo, path: path)
    guard maskInfo.dtype == .u8 else {
      throw SwapError(.invalidDataset, file: path, "tensor 'masks' is \(maskInfo.dtype.name); expected U8")
    }
    guard maskInfo.shape == [count, height, width] else {
      throw SwapError(
        .invalidDataset, file: path,
        "tensor 'masks' has shape \(maskInfo.shape); expected (\(count), \(height), \(width)), "
          + "one mask of the images' size per image")
    }
    guard let names = try DatasetFile.classNames(reader, path: path) else {
      throw SwapError(
        .invalidDataset, file: path, "metadata 'classes' is missing; a segmentation dataset names its classes")
    }
    let ignore = SegmentedImages.ignoreLabel
    guard (1...Int(ignore)).contains(names.count) else {
      throw SwapError(
        .invalidDataset, file: path,
        "metadata 'classes' names \(names.count) classes; a segmentation dataset names 1 to \(ignore) "
          + "(mask value \(ignore) is ignore)")
    }
    let pixels = try DatasetFile.pixels(reader, imageInfo, path: path)
    let masks = try reader.bytes(of: DatasetLayout.masks)
    if let index = masks.firstIndex(where: { $0 != ignore && Int($0) >= names.count }) {
      throw SwapError(
        .invalidDataset, file: path,
        "mask value \(masks[index]) of image \(index / (height * width)) is out of range: the file names "
          + "\(names.count) classes (\(ignore) is ignore)")
    }
    classes = DatasetFile.namesByLabel(names, count: names.count)
    let (mean, std) = (mean ?? Array(repeating: 0, count: channels), std ?? Array(repeating: 1, count: channels))
    images = SegmentedImages(
      pixels: pixels, masks: masks, channels: channels, height: height, width: width, mean: mean, std: std)
    guard mean.count == std.count, let adapted = images.repeatingGrey(toChannels: mean.count) else {
      throw DatasetFile.channelMismatch(channels, mean.count, path: path)
    }
    images = adapted
  }

  /// The mask values of the classes that actually occur, sorted (ignored pixels aside).
  public var presentLabels: [Int] { images.presentLabels }

  /// Names of the classes that occur in the masks, in label order.
  public var presentClasses: [String] { presentLabels.map { classes[$0] } }

  /// The images with mask values moved to model rows; `rows` follows `presentClasses`.
  public func relabeled(rows: [Int]) throws -> SegmentedImages {
    var table = [Int](repeating: -1, count: classes.count)
    for (label, row) in zip(presentLabels, rows) { table[label] = row }
    return try images.relabeled(table, file: path)
  }

  /// The images with mask values moved to the model's rows; every class in the masks must be one of
  /// `map`'s (retain, forget and evaluation sets).
  public func labeled(by map: ClassMap) throws -> SegmentedImages {
    try relabeled(rows: map.knownRows(for: presentClasses, file: path))
  }

  /// A learn set's images with mask values moved to model rows: the classes `map` already has (the
  /// background of new-class scenes) keep their rows, the others become new rows, as
  /// `ClassMap.appendNew` gives them.
  public func learning(into map: inout ClassMap) throws -> SegmentedImages {
    let known = map.names
    _ = try map.appendNew(presentClasses.filter { !known.contains($0) }, file: path)
    return try labeled(by: map)
  }
}
