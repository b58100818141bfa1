// kswap-pack --scenes: segmentation or detection scenes composed from a classification dataset
// (Importers' Scenes).
// The flags only; the rules are in Formats/dataset.md, "Scenes".

import ArgumentParser
import Foundation
import Importers
import TensorFile
import ToolSupport

/// The scene options of kswap-pack (kswap-pack(1), "Segmentation scenes").
public struct SceneOptions: ParsableArguments {
  @Option(
    help: ArgumentHelp(
      "Compose N scenes from the input's images (a classification dataset, after --classes, --split, --fraction and --relabel); writes a segmentation dataset, or with --task detection a detection dataset.",
      valueName: "n"))
  public var scenes: Int?

  @Option(help: ArgumentHelp("The scenes' size. Default: twice the input images' height and width.", valueName: "HxW"))
  public var sceneSize: String?

  @Option(
    help: ArgumentHelp(
      "Objects per scene, a number or a range MIN-MAX drawn uniformly; later objects in front. Default: 1-3.",
      valueName: "range"))
  public var objects: String?

  @Option(
    help: ArgumentHelp(
      "An object's size as a multiple of its image's, a number or a range LOW-HIGH drawn uniformly. Default: 0.75-1.5.",
      valueName: "range"))
  public var objectScale: String?

  @Option(
    help: ArgumentHelp(
      "A pixel belongs to its object when the object's brightest channel there exceeds T on the 0..1 scale (U8: value > T * 255), 0 <= T < 1; the others are not pasted. Default: 0.2.",
      valueName: "t"))
  public var objectThreshold: Double?

  @Option(
    help: ArgumentHelp(
      "A dataset file whose images, cropped and resized at random, are the scenes' canvas (still class background). Default: black.",
      valueName: "path"))
  public var sceneBackground: String?

  @Option(
    help: ArgumentHelp(
      "What the scenes label: segmentation (each pixel's class, background 0) or detection (a box around each object's visible pixels). Default: segmentation.",
      valueName: "task"))
  public var task: DatasetLayout.Task?

  public init() {}

  public func validate() throws {
    if task == .classification {
      throw ValidationError("--task of scenes is segmentation or detection (scenes have no single class per image)")
    }
    if let scenes, !(1...10_000_000).contains(scenes) {
      throw ValidationError("--scenes must be 1 to 10000000, got \(scenes)")
    }
    if scenes == nil, let option = optionsGiven.first(where: { $0 != "--scenes" }) {
      throw ValidationError("\(option) applies with --scenes")
    }
    if let sceneSize, parseSize(sceneSize) == nil {
      throw ValidationError("--scene-size expects HxW, e.g. 56x56, got '\(sceneSize)'")
    }
    if let objects, objectRange(objects) == nil {
      throw ValidationError("--objects expects a count or MIN-MAX, 1 <= MIN <= MAX <= 1000, e.g. 1-3, got '\(objects)'")
    }
    if let objectScale, scaleRange(objectScale) == nil {
      throw ValidationError(
        "--object-scale expects a positive number or LOW-HIGH with LOW <= HIGH, e.g. 0.75-1.5, got '\(objectScale)'")
    }
    if let objectThreshold, !(objectThreshold >= 0 && objectThreshold < 1) {
      throw ValidationError("--object-threshold must be at least 0 and below 1, got \(objectThreshold)")
    }
  }

  /// The scene options given.
  var optionsGiven: [String] {
    [
      ("--scenes", scenes != nil), ("--scene-size", sceneSize != nil), ("--objects", objects != nil),
      ("--object-scale", objectScale != nil), ("--object-threshold", objectThreshold != nil),
      ("--scene-background", sceneBackground != nil), ("--task", task != nil),
    ].filter(\.1).map(\.0)
  }

  /// The settings for `count` scenes, objects from label `firstLabel` on.
  func settings(count: Int, firstLabel: Int, seed: UInt64) -> SceneSettings {
    let size = sceneSize.flatMap(parseSize)
    var settings = SceneSettings(
      count: count, height: size?.height, width: size?.width, firstLabel: firstLabel, seed: seed)
    if let range = objects.flatMap(objectRange) { settings.objects = range }
    if let range = objectScale.flatMap(scaleRange) { settings.scale = range }
    if let objectThreshold { settings.threshold = objectThreshold }
    return settings
  }

  /// "N" or "MIN-MAX", 1 <= MIN <= MAX <= 1000.
  private func objectRange(_ text: String) -> ClosedRange<Int>? {
    let parts = text.split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
    guard (1...2).contains(parts.count), let low = parts.first ?? nil, let high = parts.last ?? nil,
      1 <= low, low <= high, high <= 1000
    else { return nil }
    return low...high
  }

  /// "S" or "LOW-HIGH", positive and finite.
  private func scaleRange(_ text: String) -> ClosedRange<Float>? {
    let parts = text.split(separator: "-", omittingEmptySubsequences: false).map { Float($0) }
    guard (1...2).contains(parts.count), let low = parts.first ?? nil, let high = parts.last ?? nil,
      low > 0, low <= high, high.isFinite
    else { return nil }
    return low...high
  }
}

extension ImportOptions {
  /// Scenes composed from `dataset` (picked, split, sampled and relabelled already) as the scene options
  /// say, then the steps that end `finish`: --mean/--std, statistics, source, split, metadata.
  func finishScenes(_ dataset: Dataset, count: Int, file: String, extra: [String: String], fresh: Bool) throws
    -> ImportedTensors
  {
    let detection = scenes.task == .detection
    // Segmentation scenes' objects start after the background (label 0); detection has no background.
    let settings = scenes.settings(
      count: count, firstLabel: labelOffset > 0 || detection ? labelOffset : 1, seed: seed.seed)
    var background: SceneBackground?
    if let path = scenes.sceneBackground {
      try InputPath.check(path)
      let reader = try TensorReader(path: path)
      switch reader.metadata[DatasetLayout.Key.task] {
      case DatasetLayout.Task.segmentation.rawValue:
        background = SceneBackground(try SegmentationDataset(reader: reader))
      case DatasetLayout.Task.detection.rawValue: background = SceneBackground(try DetectionDataset(reader: reader))
      default: background = SceneBackground(try Dataset(reader: reader))
      }
    }
    let recipe = { (height: Int, width: Int) in
      settings.metadata(
        height: height, width: width, background: self.scenes.sceneBackground.map { ($0 as NSString).lastPathComponent }
      )
    }
    let source =
      "scenes from " + (fresh ? sourceDescription(file) : dataset.source ?? (file as NSString).lastPathComponent)
    if detection {
      var scenes = try dataset.composingDetectionScenes(
        settings, background: background, file: file, backgroundFile: self.scenes.sceneBackground ?? "")
      if let mean { scenes.mean = parseNumbers(mean) }
      if let std { scenes.std = parseNumbers(std) }
      // Checked again: --mean/--std must match the channels and be usable.
      scenes = try DetectionDataset(
        images: scenes.images, channels: scenes.channels, height: scenes.height, width: scenes.width,
        boxes: scenes.boxes, boxLabels: scenes.boxLabels, boxOffsets: scenes.boxOffsets, classes: scenes.classes,
        mean: scenes.mean, std: scenes.std, source: source, split: split?.rawValue ?? scenes.split, file: file)
      scenes.setStatisticsIfMissing()
      var extra = extra
      extra[DatasetLayout.Key.scenes] = recipe(scenes.height, scenes.width)
      return try scenes.tensors(extra: extra, file: file)
    }
    var scenes = try dataset.composingScenes(
      settings, background: background, file: file, backgroundFile: self.scenes.sceneBackground ?? "")
    if let mean { scenes.mean = parseNumbers(mean) }
    if let std { scenes.std = parseNumbers(std) }
    // Checked again: --mean/--std must match the channels and be usable.
    scenes = try SegmentationDataset(
      images: scenes.images, channels: scenes.channels, height: scenes.height, width: scenes.width,
      masks: scenes.masks, classes: scenes.classes, mean: scenes.mean, std: scenes.std, source: scenes.source,
      split: scenes.split, file: file)
    scenes.setStatisticsIfMissing()
    scenes.source = source
    if let split { scenes.split = split.rawValue }
    var extra = extra
    extra[DatasetLayout.Key.scenes] = recipe(scenes.height, scenes.width)
    return try scenes.tensors(extra: extra, file: file)
  }
}
