// kswap-pack's detection datasets: a COCO instances JSON with its image folder becomes one
// (--coco-images), a detection dataset file goes through the dataset options that apply to it, and
// --coco-dir writes one out as a COCO directory (Formats/dataset.md, "Detection datasets", "COCO files").

import ArgumentParser
import Foundation
import Importers
import TensorFile
import ToolSupport

/// The options of detection imports, part of `ImportOptions`.
public struct DetectionOptions: ParsableArguments {
  @Option(
    help: ArgumentHelp(
      "The folder of the images the input, a COCO instances JSON, names in its file_name fields; makes a detection dataset.",
      valueName: "dir"))
  public var cocoImages: String?

  public init() {}

  /// The options given, by name.
  var given: [String] { cocoImages != nil ? ["--coco-images"] : [] }
}

extension ImportOptions {
  /// A COCO instances JSON and its image folder as a detection dataset.
  func openCOCO(_ input: String) throws -> ImportedTensors {
    try refuseOptions(input, task: .detection)
    guard let folder = detection.cocoImages else {
      throw ToolError(.option, file: input, "a COCO import needs --coco-images DIR, the folder of the images it names")
    }
    try InputPath.check(input)
    var options = COCOImportOptions()
    options.channels = channels
    options.resize = resize.flatMap(parseSize).map { ($0.height, $0.width, resizeMethod) }
    options.limits = try ImportLimits.fromEnvironment()
    let (dataset, crowd) = try DetectionDataset.fromCOCO(
      annotations: ArchiveInput.readDecompressed(path: input, limits: options.limits), file: input, folder: folder,
      options: options)
    if crowd > 0 {
      Console.current.diagnostic(
        "\(Pack.toolName): warning: \(input): \(crowd) crowd \(crowd == 1 ? "annotation" : "annotations") "
          + "(iscrowd 1) left out; kswap's datasets hold no crowd regions")
    }
    return try finishDetection(dataset, file: input, source: (input as NSString).lastPathComponent)
  }

  /// A detection dataset file put through the dataset options.
  func reworkDetection(_ reader: TensorReader, file: String) throws -> ImportedTensors {
    try refuseOptions(file, task: .detection)
    let tensors = try finishDetection(
      DetectionDataset(reader: reader), file: file, source: nil, extra: reader.metadata)
    tensors.fromCompressedFile = reader.format == .compressed
    return tensors
  }

  /// Refuses the options that pick, name or renumber the classes of whole images, and the ones of
  /// other imports, for a dataset of `task` (segmentation or detection).
  func refuseOptions(_ file: String, task: DatasetLayout.Task) throws {
    let given =
      [("--classes", classes != nil), ("--relabel", relabel != .keep), ("--label-offset", labelOffset != 0)]
      + [("--scenes", scenes.scenes != nil)]  // scenes are composed from classification datasets
    if let option = given.first(where: \.1) {
      throw ToolError(.option, file: file, "\(option.0) applies to classification datasets, not to \(task.rawValue)")
    }
    guard task == .detection else { return }
    let other = (classNames != nil ? ["--class-names"] : []) + segmentation.given
    if let option = other.first {
      throw ToolError(.option, file: file, "\(option) does not apply to a detection dataset")
    }
  }

  /// The dataset options in their documented order after loading: split, fraction, resize (a COCO
  /// import resizes each image as it loads), statistics.
  private func finishDetection(
    _ start: DetectionDataset, file: String, source: String?, extra: [String: String] = [:]
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
    dataset = try DetectionDataset(
      images: dataset.images, channels: dataset.channels, height: dataset.height, width: dataset.width,
      boxes: dataset.boxes, boxLabels: dataset.boxLabels, boxOffsets: dataset.boxOffsets, classes: dataset.classes,
      mean: dataset.mean, std: dataset.std, source: dataset.source, split: dataset.split, file: file)
    dataset.setStatisticsIfMissing()
    if let source { dataset.source = source }
    if let split { dataset.split = split.rawValue }
    return try dataset.tensors(extra: extra, file: file)
  }
}

extension Pack {
  /// Reads the input detection dataset and writes DIR/instances.json and one PNG per image
  /// (DetectionDataset.cocoFiles) into a temporary directory, renamed into place.
  func exportCOCO(to directory: String) throws {
    try InputPath.check(input)
    let reader = try TensorReader(path: input)
    let dataset = try DetectionDataset(reader: reader)
    let files = try dataset.cocoFiles(file: directory)
    let replaceable = output.force ? Set(files.map(\.name)) : nil
    try OutputDirectory.checkDestination(directory, replacing: replaceable, hint: "use -f to replace it")
    let destination = try OutputDirectory(path: directory, files: files.map(\.name))
    do {
      for (name, bytes) in files {
        let file = try OutputFile(path: destination.path(of: name))
        do {
          try file.write(bytes)
          try file.commit()
        } catch {
          file.discard()
          throw error
        }
      }
      try destination.commit(replacing: replaceable)
    } catch {
      destination.discard()
      throw error
    }
    guard !quiet.quiet else { return }
    Console.current.diagnostic(
      "\(Self.toolName): wrote \(escapeControlCharacters(directory)): COCO instances of \(dataset.count) "
        + "\(dataset.count == 1 ? "image" : "images"), \(dataset.boxCount) \(dataset.boxCount == 1 ? "box" : "boxes")")
  }
}
