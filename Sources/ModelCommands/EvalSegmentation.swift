// kswap-eval on a segmentation model: every set read and checked first, then each evaluated in
// bounded batches (pixel scores, the predicted masks for --predictions and the first images'
// predictions for --overlay); the outputs written atomically, then the table or JSON.

import Foundation
import Swap
import TensorFile
import ToolSupport

extension Eval {
  func evaluateSegmentation(
    base: BaseModel, network: ViTNetwork, classMap: ClassMap, progress: ProgressReporter
  ) throws {
    let model = base.path
    let classes = classMap.names
    var sets: [(name: String, path: String, images: SegmentedImages)] = []
    for spec in set {
      let (name, path) = namedPath(spec)
      try InputPath.check(path)
      guard case .segmented(let images) = try base.loadSet(path, labeledBy: classMap) else {
        preconditionFailure("a segmentation model's sets are read as segmented images")
      }
      sets.append((name, path, images))
    }
    let pictures = try overlay.map {
      try OverlayPlan(
        directory: $0, sets: sets.map { ($0.name, $0.images.count) }, perSet: overlayImages, force: force)
    }

    var results: [SegmentedSetScores] = []
    var predictionTensors: [(info: TensorInfo, bytes: [UInt8])] = []
    var overlayFiles: [(name: String, bytes: [UInt8])] = []
    for (index, (name, path, images)) in sets.enumerated() {
      let keep = predictions != nil ? images.count : (pictures?.counts[index] ?? 0)
      var predicted: [UInt8] = []
      predicted.reserveCapacity(keep * images.pixelsPerMask)
      let scores = evaluate(
        network, on: images, classes: classes.count, batchSize: batchSize,
        predictionsSink: keep == 0
          ? nil
          : { batch in
            let room = keep * images.pixelsPerMask - predicted.count
            if room > 0 { predicted += batch.prefix(room) }
          })
      progress.message(
        "\(name): mIoU \(EvalReport.percent(scores.meanIoU))% over \(scores.presentRows.count) classes, "
          + "pixel accuracy \(EvalReport.percent(scores.pixelAccuracy))% of \(scores.images) images")
      results.append(SegmentedSetScores(name: name, file: path, scores: scores))
      if let predictions {
        predictionTensors.append(
          (
            try TensorInfo(
              name: name, dtype: .u8, shape: [images.count, images.height, images.width], file: predictions),
            predicted
          ))
      }
      if let pictures {
        for image in 0..<pictures.counts[index] {
          let file = pictures.pictureName(set: index, image: image)
          let plane = images.pixelsPerMask
          overlayFiles.append(
            (
              file,
              try overlayPicture(
                images, index: image, prediction: predicted[(image * plane)..<((image + 1) * plane)],
                file: "\(pictures.directory)/\(file)")
            ))
        }
      }
    }
    if let predictions {
      try TensorWriter.write(
        path: predictions, metadata: [SwapMetadata.classes: SwapMetadata.classList(classes)],
        tensors: predictionTensors)
    }
    if let pictures {
      overlayFiles.append((OverlayPlan.legendName, Array(OverlayPlan.legend(classes).utf8)))
      try pictures.write(overlayFiles)
    }
    Console.current.write(
      json.json
        ? SegmentationReport.json(model: model, adapters: adapter, classes: classes, sets: results)
        : SegmentationReport.table(results, classes: classes, perClass: perClass))
  }
}

/// The files of an --overlay directory: NAME-I.png for the first images of each set (NAME the set's
/// name with characters other than letters, digits, '.', '_' and '-' made '_'), and legend.txt.
struct OverlayPlan {
  static let legendName = "legend.txt"
  let directory: String
  /// Per set: how many pictures.
  let counts: [Int]
  let stems: [String]
  let replaceable: Set<String>?

  /// Checks the destination before any evaluation: a set name clash, or an existing directory that
  /// --force may not replace, is refused now.
  init(directory: String, sets: [(name: String, count: Int)], perSet: Int, force: Bool) throws {
    let counts = sets.map { min(perSet, $0.count) }
    let stems = sets.map { set in String(set.name.unicodeScalars.map(Self.fileCharacter)) }
    if let clash = stems.indices.first(where: { stems.firstIndex(of: stems[$0]) != $0 }) {
      let first = sets[stems.firstIndex(of: stems[clash])!].name
      throw ToolError(
        .option,
        "--overlay \(directory): sets \(first) and \(sets[clash].name) would share the picture names "
          + "\(stems[clash])-N.png; give them distinct NAME=PATH names")
    }
    let pictures = counts.indices.flatMap { set in (0..<counts[set]).map { "\(stems[set])-\($0).png" } }
    let replaceable = force ? Set(pictures + [Self.legendName]) : nil
    try OutputDirectory.checkDestination(directory, replacing: replaceable, hint: "use -f to replace it")
    (self.directory, self.counts, self.stems, self.replaceable) = (directory, counts, stems, replaceable)
  }

  /// A set name's character as it goes into a file name.
  private static func fileCharacter(_ scalar: Unicode.Scalar) -> Character {
    let plain = scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar))
    return plain || "._-".unicodeScalars.contains(scalar) ? Character(scalar) : "_"
  }

  func pictureName(set: Int, image: Int) -> String { "\(stems[set])-\(image).png" }

  /// One line per head row: the row, its colour and its class.
  static func legend(_ classes: [String?]) -> String {
    classes.indices.map { "\($0)\t\(SegmentationPalette.hex($0))\t\(EvalReport.className(classes, $0))\n" }.joined()
      + "\(DatasetLayout.ignoreLabel)\t\(SegmentationPalette.hex(Int(DatasetLayout.ignoreLabel)))\t(ignored)\n"
  }

  /// Writes the files into a temporary directory and renames it into place.
  func write(_ files: [(name: String, bytes: [UInt8])]) throws {
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
  }
}
