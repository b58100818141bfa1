// kswap-pack's segmentation imports: image + mask pairs (a folder with images/ and masks/, or one
// image file with --masks) become segmentation datasets, and segmentation dataset files go through
// the dataset options that apply to them (Formats/dataset.md, "Import rules").

import ArgumentParser
import Foundation
import Importers
import TensorFile
import ToolSupport

extension SixteenBitScale: ExpressibleByArgument {}

/// The options of segmentation imports, part of `ImportOptions`.
public struct SegmentationOptions: ParsableArguments {
  @Option(
    help: ArgumentHelp(
      "The mask (PNG or TIFF) of the input image, making a segmentation dataset; with --member, a member of the same archive.",
      valueName: "file"))
  public var masks: String?

  @Flag(help: "Mask values are instance ids: 0 becomes class 0, every other id class 1 (one kind of object).")
  public var instances = false

  @Option(
    help: ArgumentHelp(
      "Cut every image and its mask into HxW tiles (no overlap, from the top left; what is left at the right and bottom edges is dropped).",
      valueName: "HxW"))
  public var tile: String?

  @Option(
    name: .customLong("scale-16bit"),
    help: ArgumentHelp(
      "How 16-bit images of a segmentation import become 8-bit: full (0..65535 onto 0..255) or max (0..the image's largest value onto 0..255). Default: full.",
      valueName: "mode"))
  public var sixteenBit: SixteenBitScale?

  public init() {}

  public func validate() throws {
    if let tile, parseSize(tile) == nil { throw ValidationError("--tile expects HxW, e.g. 64x64, got '\(tile)'") }
  }

  /// The options given, by name (for the checks of options that do not apply).
  var given: [String] {
    [
      ("--masks", masks != nil), ("--instances", instances), ("--tile", tile != nil),
      ("--scale-16bit", sixteenBit != nil),
    ]
    .filter(\.1).map(\.0)
  }
}

extension ImportOptions {
  /// An image + mask import (a folder with images/ and masks/, or one image with --masks).
  func openSegmentation(_ input: String) throws -> ImportedTensors {
    try refuseOptions(input, task: .segmentation)
    var options = SegmentationImportOptions()
    options.channels = channels
    options.sixteenBit = segmentation.sixteenBit ?? .full
    options.maskValues = segmentation.instances ? .instances : .classes
    options.classNames = try segmentationClassNames(input)
    options.tile = segmentation.tile.flatMap(parseSize)
    options.resize = resize.flatMap(parseSize).map { ($0.height, $0.width, resizeMethod) }
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: input, isDirectory: &isDirectory), isDirectory.boolValue {
      if segmentation.masks != nil {
        throw ToolError(
          .option, file: input, "--masks pairs one image file with its mask; a folder's masks are in its masks/")
      }
      guard SegmentationDataset.isPairFolder(input) else {
        throw ToolError(
          .input, file: input, "a segmentation folder holds the sub-folders images/ and masks/ (and no others)")
      }
      let dataset = try SegmentationDataset.fromFolder(path: input, options: options)
      return try finishSegmentation(dataset, file: input, source: (input as NSString).lastPathComponent)
    }
    guard let masks = segmentation.masks else {
      throw ToolError(
        .input, file: input,
        "an image file imports with its mask (--masks FILE); a folder imports as classes (one sub-folder each) or as images/ and masks/"
      )
    }
    let (imageBytes, imageName) = try readPairFile(input)
    let (maskBytes, maskName) = try readPairFile(input, other: masks)
    let dataset = try SegmentationDataset.fromPair(
      image: imageBytes, imageFile: imageName, mask: maskBytes, maskFile: maskName, options: options)
    // The archive and both members, or both file names without their folders.
    let source: String
    if member != nil {
      source = sourceDescription(imageName) + ", " + masks
    } else {
      source = [imageName, maskName].map { ($0 as NSString).lastPathComponent }.joined(separator: ", ")
    }
    return try finishSegmentation(dataset, file: imageName, source: source)
  }

  /// A segmentation dataset file put through the dataset options.
  func reworkSegmentation(_ reader: TensorReader, file: String) throws -> ImportedTensors {
    try refuseOptions(file, task: .segmentation)
    var dataset = try SegmentationDataset(reader: reader)
    if let names = try segmentationClassNames(file) {
      dataset = try SegmentationDataset(
        images: dataset.images, channels: dataset.channels, height: dataset.height, width: dataset.width,
        masks: dataset.masks, classes: names, mean: dataset.mean, std: dataset.std, source: dataset.source,
        split: dataset.split, file: file)
    }
    if let tile = segmentation.tile.flatMap(parseSize) {
      dataset = try dataset.tiled(height: tile.height, width: tile.width, file: file)
    }
    let tensors = try finishSegmentation(dataset, file: file, source: nil, extra: reader.metadata)
    tensors.fromCompressedFile = reader.format == .compressed
    return tensors
  }

  /// --class-names for a segmentation dataset: two names with --instances.
  private func segmentationClassNames(_ input: String) throws -> [String]? {
    guard let classNames else { return nil }
    let names = classNames.split(separator: ",", omittingEmptySubsequences: false).map { String($0) }
    if segmentation.instances && names.count != 2 {
      throw ToolError(
        .option, file: input,
        "--instances makes two classes (0 and the objects); --class-names gives \(names.count) names")
    }
    return names
  }

  /// The input's bytes (its --member, or the file), or with `other` those of another member of the
  /// same zip (or, without --member, another file), decompressed when compressed, with the name for errors.
  private func readPairFile(_ input: String, other: String? = nil) throws -> ([UInt8], String) {
    if let member {
      let name = "\(input):\(other ?? member)"
      return (try ArchiveInput.decompress(ArchiveInput.readMember(other ?? member, ofZip: input), name: name), name)
    }
    let path = other ?? input
    try InputPath.check(path)
    return (try ArchiveInput.readDecompressed(path: path), path)
  }

  /// The dataset options in their documented order after loading (tiles and --resize are applied
  /// to each pair as it loads): split, fraction, resize, statistics.
  private func finishSegmentation(
    _ start: SegmentationDataset, file: String, source: String?, extra: [String: String] = [:]
  ) throws -> ImportedTensors {
    var dataset = start
    if let split {
      let parts = try dataset.splitting(testFraction: testFraction, seed: seed.seed, file: file)
      dataset = split == .train ? parts.train : parts.test
    }
    if let fraction {
      dataset = try dataset.sampling(fraction: fraction, seed: seed.seed, method: sampling ?? .stratified, file: file)
    }
    if let size = resize.flatMap(parseSize) {
      dataset = try dataset.resized(height: size.height, width: size.width, method: resizeMethod, file: file)
    }
    guard dataset.count > 0 else { throw ToolError(.option, file: file, "no images left after --split and --fraction") }
    if let mean { dataset.mean = parseNumbers(mean) }
    if let std { dataset.std = parseNumbers(std) }
    // Checked again: --mean/--std must match the channels and be usable.
    dataset = try SegmentationDataset(
      images: dataset.images, channels: dataset.channels, height: dataset.height, width: dataset.width,
      masks: dataset.masks, classes: dataset.classes, mean: dataset.mean, std: dataset.std,
      source: dataset.source, split: dataset.split, file: file)
    dataset.setStatisticsIfMissing()
    if let source { dataset.source = source }
    if let split { dataset.split = split.rawValue }
    return try dataset.tensors(extra: extra, file: file)
  }
}
