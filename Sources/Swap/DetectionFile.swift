// Reading a detection dataset file (Formats/dataset.md, "Detection datasets"): `images` (N, C, H, W),
// every image's boxes in `boxes` (M, 4) F32, their classes in `box_labels` (M) I64, cut per image by
// `box_offsets` (N + 1) I64. Every way the file can disagree with itself is refused here, naming the
// file, before any training starts; so is a dataset of another task.

import Foundation
import Importers
import TensorFile

public struct DetectionFile: Sendable {
  public let path: String
  /// The images with their boxes, labelled with the dataset's own classes (indices into `classes`).
  public var images: BoxedImages
  /// The dataset's class names by label; an unnamed label is called by its number.
  public var classes: [String]

  /// Reads `path`, a detection dataset; `mean` and `std` as for `DatasetFile`.
  public init(path: String, mean: [Float]? = nil, std: [Float]? = nil) throws {
    self.path = path
    let reader = try TensorReader(path: path)
    if reader.metadata[DatasetLayout.Key.task] == nil, reader.info(DatasetLayout.boxes) != nil {
      throw SwapError(
        .invalidDataset, file: path, "not a dataset file: it has 'boxes' but no metadata task 'detection'")
    }
    try DatasetFile.require(.detection, reader: reader)
    guard let imageInfo = reader.info(DatasetLayout.images), let boxInfo = reader.info(DatasetLayout.boxes),
      let labelInfo = reader.info(DatasetLayout.boxLabels), let offsetInfo = reader.info(DatasetLayout.boxOffsets)
    else {
      throw SwapError(
        .invalidDataset, file: path,
        "not a detection dataset file: it needs tensors 'images' (N, C, H, W), 'boxes' (M, 4), "
          + "'box_labels' (M) and 'box_offsets' (N + 1)")
    }
    if let other = [DatasetLayout.labels, DatasetLayout.masks].first(where: { reader.info($0) != nil }) {
      throw SwapError(
        .invalidDataset, file: path, "holds '\(other)' besides 'boxes'; a detection dataset has only boxes")
    }
    let (count, channels, height, width) = try DatasetFile.imageShape(imageInfo, path: path)
    let boxCount = labelInfo.shape.first ?? 0
    for (info, dtype, shape, meaning) in [
      (boxInfo, DType.f32, [boxCount, 4], "(M, 4): x0, y0, x1, y1 of every box"),
      (labelInfo, .i64, [boxCount], "(M): one class per box"),
      (offsetInfo, .i64, [count + 1], "(N + 1) = (\(count + 1)): where each image's boxes start, and the end"),
    ] {
      guard info.dtype == dtype, info.shape == shape else {
        throw SwapError(
          .invalidDataset, file: path,
          "tensor '\(info.name)' is \(info.dtype.name) \(info.shape); expected \(dtype.name) \(meaning)")
      }
    }
    guard let names = try DatasetFile.classNames(reader, path: path) else {
      throw SwapError(
        .invalidDataset, file: path, "metadata 'classes' is missing; a detection dataset names its classes")
    }
    let pixels = try DatasetFile.pixels(reader, imageInfo, path: path)
    let coordinates = try reader.floats(of: DatasetLayout.boxes)
    let labels = try Self.int64s(reader.bytes(of: DatasetLayout.boxLabels))
    let offsets = try Self.int64s(reader.bytes(of: DatasetLayout.boxOffsets))
    if let problem = DetectionDataset.boxProblem(
      boxes: coordinates, labels: labels, offsets: offsets, classCount: names.count, width: width, height: height)
    {
      throw SwapError(.invalidDataset, file: path, "\(problem)")
    }
    classes = DatasetFile.namesByLabel(names, count: names.count)
    let boxes = (0..<count).map { image in
      (offsets[image]..<offsets[image + 1]).map { row in
        LabeledBox(
          box: Box(
            x0: coordinates[4 * row], y0: coordinates[4 * row + 1], x1: coordinates[4 * row + 2],
            y1: coordinates[4 * row + 3]),
          label: labels[row])
      }
    }
    let (mean, std) = (mean ?? Array(repeating: 0, count: channels), std ?? Array(repeating: 1, count: channels))
    images = BoxedImages(
      pixels: pixels, boxes: boxes, channels: channels, height: height, width: width, mean: mean, std: std)
    guard mean.count == std.count, let adapted = images.repeatingGrey(toChannels: mean.count) else {
      throw DatasetFile.channelMismatch(channels, mean.count, path: path)
    }
    images = adapted
  }

  /// Little-endian I64 values, clamped to Int (a value that large is refused as out of range anyway).
  private static func int64s(_ bytes: [UInt8]) -> [Int] {
    bytes.withUnsafeBytes { raw in
      (0..<(raw.count / 8)).map {
        Int(clamping: Int64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)))
      }
    }
  }

  /// The labels of the classes that have a box, sorted.
  public var presentLabels: [Int] { images.presentLabels }

  /// Names of the classes that have a box, in label order.
  public var presentClasses: [String] { presentLabels.map { classes[$0] } }

  /// The images with box labels moved to model rows; `rows` follows `presentClasses`.
  public func relabeled(rows: [Int]) throws -> BoxedImages {
    var table = [Int](repeating: -1, count: classes.count)
    for (label, row) in zip(presentLabels, rows) { table[label] = row }
    return try images.relabeled(table, file: path)
  }

  /// The images with box labels moved to the model's rows; every class with a box must be one of
  /// `map`'s (retain, forget and evaluation sets).
  public func labeled(by map: ClassMap) throws -> BoxedImages {
    try relabeled(rows: map.knownRows(for: presentClasses, file: path))
  }

  /// A learn set's images with box labels moved to model rows: the classes `map` already has keep their
  /// rows, the others become new rows, as `ClassMap.appendNew` gives them (as a segmentation learn set's).
  public func learning(into map: inout ClassMap) throws -> BoxedImages {
    let known = map.names
    _ = try map.appendNew(presentClasses.filter { !known.contains($0) }, file: path)
    return try labeled(by: map)
  }
}
