// Reading a dataset file (Formats/dataset.md): `images` (N, C, H, W) as U8 or a float type, `labels`
// (N) as I64, class names in `__metadata__`. Every way the file can disagree with itself is refused here,
// naming the file, before any training starts.

import Foundation
import Importers
import TensorFile

public struct DatasetFile: Sendable {
  public let path: String
  /// The images with the dataset's own labels (indices into `classes`).
  public var images: LabeledImages
  /// The dataset's class names by label; an unnamed label is called by its number.
  public var classes: [String]

  /// Reads `path`; images will be normalised with `mean` and `std` (the model's, per channel; grey
  /// images are repeated to that many channels), or without them left at their [0, 1] values.
  public init(path: String, mean: [Float]? = nil, std: [Float]? = nil) throws {
    self.path = path
    let reader = try TensorReader(path: path)
    guard let imageInfo = reader.info(DatasetLayout.images), let labelInfo = reader.info(DatasetLayout.labels) else {
      throw SwapInputError("\(path): not a dataset file: it needs tensors 'images' (N, C, H, W) and 'labels' (N)")
    }
    guard imageInfo.shape.count == 4 else {
      throw SwapInputError("\(path): tensor 'images' has shape \(imageInfo.shape); expected (N, C, H, W)")
    }
    let (count, channels, height, width) = (
      imageInfo.shape[0], imageInfo.shape[1], imageInfo.shape[2], imageInfo.shape[3]
    )
    guard count > 0 else { throw SwapInputError("\(path): the dataset is empty (0 images)") }
    guard channels > 0, height > 0, width > 0 else {
      throw SwapInputError(
        "\(path): tensor 'images' has shape \(imageInfo.shape); an image needs C, H and W of 1 or more")
    }
    guard labelInfo.shape == [count] else {
      throw SwapInputError("\(path): tensor 'labels' has shape \(labelInfo.shape); expected (\(count)), one per image")
    }
    let pixels: LabeledImages.Pixels
    switch imageInfo.dtype {
    case .u8: pixels = .bytes(try reader.bytes(of: DatasetLayout.images))
    case .f16, .bf16, .f32, .f64:
      let values = try reader.floats(of: DatasetLayout.images)
      guard values.allSatisfy({ $0.isFinite }) else { throw SwapInputError("\(path): 'images' holds NaN or infinity") }
      pixels = .floats(values)
    default:
      throw SwapInputError("\(path): tensor 'images' is \(imageInfo.dtype.name); expected U8 or a float type")
    }
    let labels = try Self.integers(reader.bytes(of: DatasetLayout.labels), dtype: labelInfo.dtype, file: path)
    var names: [String?] = []
    if let text = reader.metadata[DatasetLayout.Key.classes] {
      guard let decoded = try? JSONDecoder().decode([String?].self, from: Data(text.utf8)) else {
        throw SwapInputError("\(path): metadata 'classes' is not a JSON array of names")
      }
      names = decoded
    }
    if !names.isEmpty, let bad = labels.first(where: { $0 < 0 || $0 >= names.count }) {
      throw SwapInputError("\(path): label \(bad) is out of range: the file names \(names.count) classes")
    }
    if let bad = labels.first(where: { $0 < 0 }) { throw SwapInputError("\(path): label \(bad) is negative") }
    // A class is made for every label up to the largest: bounded as kswap-pack bounds them.
    if let bad = labels.first(where: { $0 >= Int(maxLabel) }) {
      throw SwapInputError("\(path): label \(bad) is too large (labels are below \(maxLabel))")
    }
    let classCount = max(names.count, (labels.max() ?? -1) + 1)
    classes = (0..<classCount).map { label in label < names.count ? (names[label] ?? String(label)) : String(label) }
    let (mean, std) = (mean ?? Array(repeating: 0, count: channels), std ?? Array(repeating: 1, count: channels))
    images = LabeledImages(
      pixels: pixels, labels: labels, channels: channels, height: height, width: width,
      mean: mean, std: std)
    // Grey images for an RGB model are repeated to its channels, as torchvision's Grayscale(3) does.
    guard mean.count == std.count, let adapted = images.repeatingGrey(toChannels: mean.count) else {
      let hint = channels > mean.count ? " (colour images are not made grey here: convert them first)" : ""
      throw SwapInputError("\(path): images have \(channels) channels; the model takes \(mean.count)\(hint)")
    }
    images = adapted
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
    default: throw SwapInputError("\(file): tensor 'labels' is \(dtype.name); expected I64")
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
