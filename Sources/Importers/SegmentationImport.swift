import Foundation
import TensorFile

/// What the values of imported mask files mean.
public enum MaskValues: Sendable {
  /// Class numbers, used as they are; 255 is ignore.
  case classes
  /// Instance ids of one kind of object: 0 is class 0 (background), every other id class 1.
  case instances
}

/// How image and mask pairs become a segmentation dataset.
public struct SegmentationImportOptions: Sendable {
  /// 1 (grey) or 3 (RGB); nil: 1 when every image is grey, else 3.
  public var channels: Int?
  public var sixteenBit: SixteenBitScale = .full
  public var maskValues: MaskValues = .classes
  /// Class names, index = class number; nil: numbered 0 to the largest mask value.
  public var classNames: [String]?
  /// Cut every pair into tiles of this size (`SegmentationDataset.tiled`).
  public var tile: (height: Int, width: Int)?
  /// Resize every image (or tile) to this size, masks by nearest neighbour.
  public var resize: (height: Int, width: Int, method: ResizeMethod)?
  public var limits: ImportLimits = .standard

  public init() {}
}

extension SegmentationDataset {
  /// A folder holding `images/` and `masks/`: each image (PNG, JPEG or TIFF) with the mask (PNG or
  /// TIFF) of the same base name, the name without its last extension. Pairs are taken in sorted
  /// (byte) order of the image names; hidden entries and files of other kinds are skipped.
  public static func fromFolder(path: String, options: SegmentationImportOptions) throws -> SegmentationDataset {
    let imageFolder = path + "/images"
    let maskFolder = path + "/masks"
    let images = try byBaseName(imageFolder)
    let masks = try byBaseName(maskFolder)
    for (base, mask) in masks where images[base] == nil {
      throw ImportError(.notFound, maskFolder + "/" + mask, "no image of the same base name in \(imageFolder)")
    }
    var pairs: [(image: String, mask: String)] = []
    for base in images.keys.sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }) {
      guard let mask = masks[base] else {
        throw ImportError(
          .notFound, imageFolder + "/" + images[base]!, "no mask of the same base name in \(maskFolder)")
      }
      pairs.append((imageFolder + "/" + images[base]!, maskFolder + "/" + mask))
    }
    guard !pairs.isEmpty else {
      throw ImportError(.invalidDataset, path, "no image and mask pairs in images/ and masks/")
    }
    func read(_ file: String) throws -> [UInt8] {
      guard let data = FileManager.default.contents(atPath: file) else {
        throw ImportError(.io, file, "cannot read the file")
      }
      return [UInt8](data)
    }
    return try fromPairs(pairs, read: read, name: path, options: options)
  }

  /// One image and its mask, as bytes (from files or archive members named `imageFile`, `maskFile`).
  public static func fromPair(
    image: [UInt8], imageFile: String, mask: [UInt8], maskFile: String, options: SegmentationImportOptions
  ) throws -> SegmentationDataset {
    try fromPairs([(imageFile, maskFile)], read: { $0 == imageFile ? image : mask }, name: imageFile, options: options)
  }

  private static func fromPairs(
    _ pairs: [(image: String, mask: String)], read: (String) throws -> [UInt8], name: String,
    options: SegmentationImportOptions
  ) throws -> SegmentationDataset {
    var channels = options.channels ?? 1
    if options.channels == nil {
      for pair in pairs where try ImageDecoder.header(read(pair.image), file: pair.image).channels == 3 {
        channels = 3
        break
      }
    }
    var pixels: [UInt8] = []
    var masks: [UInt8] = []
    var size: (height: Int, width: Int)?
    for pair in pairs {
      let image = try ImageDecoder.decode(
        read(pair.image), channels: channels, file: pair.image, limits: options.limits, sixteenBit: options.sixteenBit)
      let labels = try ImageDecoder.decodeLabels(read(pair.mask), file: pair.mask, limits: options.limits)
      guard (labels.width, labels.height) == (image.width, image.height) else {
        throw ImportError(
          .invalidDataset,
          pair.mask,
          "mask is \(labels.width)x\(labels.height), its image \(pair.image) is \(image.width)x\(image.height)")
      }
      let classes = try maskClasses(
        labels, values: options.maskValues, classCount: options.classNames?.count, file: pair.mask)
      var piece = try SegmentationDataset(
        images: .u8(image.planar), channels: channels, height: image.height, width: image.width, masks: classes,
        file: pair.mask)
      if let tile = options.tile {
        guard tile.height <= image.height, tile.width <= image.width else {
          throw ImportError(
            .invalidOption,
            pair.image, "image is \(image.width)x\(image.height), smaller than the \(tile.height)x\(tile.width) tiles")
        }
        piece = try piece.tiled(height: tile.height, width: tile.width, file: pair.image)
      }
      if let resize = options.resize {
        piece = try piece.resized(height: resize.height, width: resize.width, method: resize.method, file: pair.image)
      }
      if let size, size != (piece.height, piece.width) {
        throw ImportError(
          .invalidDataset,
          pair.image,
          "image is \(image.width)x\(image.height), the first was \(size.width)x\(size.height): give --tile or --resize"
        )
      }
      size = (piece.height, piece.width)
      guard case .u8(let values) = piece.images, pixels.count + values.count <= options.limits.maxElements else {
        throw ImportError(.limitExceeded, name, "more than \(options.limits.maxElements) pixel values")
      }
      pixels += values
      masks += piece.masks
    }
    return try SegmentationDataset(
      images: .u8(pixels), channels: channels, height: size!.height, width: size!.width, masks: masks,
      classes: options.classNames ?? (options.maskValues == .instances ? ["0", "1"] : []), file: name)
  }

  /// A mask's stored values as class numbers: refused (naming the file and pixel) where a value has
  /// no class and is not the ignore value.
  private static func maskClasses(_ labels: LabelImage, values: MaskValues, classCount: Int?, file: String) throws
    -> [UInt8]
  {
    if values == .instances { return labels.values.map { $0 == 0 ? 0 : 1 } }
    let ignore = UInt16(DatasetLayout.ignoreLabel)
    let limit = UInt16(min(classCount ?? Int(ignore), Int(ignore)))
    if let index = labels.values.firstIndex(where: { $0 >= limit && $0 != ignore }) {
      let value = labels.values[index]
      let classes = classCount.map { "\($0) classes" } ?? "at most \(ignore) classes"
      throw ImportError(
        .invalidDataset,
        file,
        "mask value \(value) at row \(index / labels.width), column \(index % labels.width) has no class "
          + "(\(classes): 0 to \(limit - 1), and \(ignore) for ignore)")
    }
    return labels.values.map { UInt8($0) }
  }

  /// The folder's image files by base name (the name without its last extension).
  private static func byBaseName(_ folder: String) throws -> [String: String] {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
      throw ImportError(.io, folder, "not a folder")
    }
    let names: [String]
    do {
      names = try FileManager.default.contentsOfDirectory(atPath: folder)
        .filter { isImageFileName($0) }
        .sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    } catch {
      throw ImportError(.io, folder, "cannot list the folder: \(error.localizedDescription)")
    }
    var byBase: [String: String] = [:]
    for name in names {
      let base = (name as NSString).deletingPathExtension
      if let other = byBase[base] {
        throw ImportError(
          .invalidDataset, folder + "/" + name, "\(other) has the same base name \"\(base)\"; pairs need one each")
      }
      byBase[base] = name
    }
    return byBase
  }

  /// Whether `path` is a folder holding exactly the sub-folders `images` and `masks` (hidden entries
  /// and files aside): the layout `fromFolder` reads.
  public static func isPairFolder(_ path: String) -> Bool {
    let manager = FileManager.default
    guard let entries = try? manager.contentsOfDirectory(atPath: path) else { return false }
    let folders = entries.filter { entry in
      var isDirectory: ObjCBool = false
      return !entry.hasPrefix(".") && manager.fileExists(atPath: path + "/" + entry, isDirectory: &isDirectory)
        && isDirectory.boolValue
    }
    return folders.sorted() == ["images", "masks"]
  }
}

/// PNG, JPEG or TIFF by name (.png, .jpg, .jpeg, .tif, .tiff, any case), not hidden.
public func isImageFileName(_ name: String) -> Bool {
  let lower = name.lowercased()
  return !name.hasPrefix(".") && [".png", ".jpg", ".jpeg", ".tif", ".tiff"].contains(where: lower.hasSuffix)
}
