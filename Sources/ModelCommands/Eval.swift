// kswap-eval: top-1 accuracy of a classifier, or a base plus adapters, per set and per class; for a
// segmentation model, mean IoU, per-class IoU and pixel accuracy per set, with the predicted masks and
// overlay pictures on request; without a model, COCO-style AP of a detection results file against a
// detection dataset (Man/kswap-eval.1).

import ArgumentParser
import Foundation
import Swap
import TensorFile
import ToolSupport
import ViT

public struct Eval: ModelTool {
  public static let configuration = CommandConfiguration(
    commandName: "kswap-eval",
    abstract:
      "Top-1 accuracy of a ViT, or a base plus adapters, on datasets, per set and per class; mIoU for segmentation; COCO AP of detections.",
    discussion: """
      Adapters are applied unmerged (W x + s B A x, their head replacing the base's), which gives the numbers \
      of the model kswap-merge makes from them. Dataset classes are matched to the model's by name. The model \
      is a kswap model or a timm, Hugging Face ViT or DINOv2 checkpoint (safetensors, sharded, .kst, PyTorch \
      .bin/.pth, or a Hugging Face model folder); --heads, --mean, --std and --class-names give what such a \
      file and its config.json do not say. A segmentation model takes segmentation datasets and reports, per \
      set, the mean IoU over the classes with a true pixel in the set, each class's IoU and the pixel \
      accuracy, ignored pixels left out. With --score-detections FILE and no model, kswap-eval scores a \
      COCO results file (another detector's boxes) against one detection dataset as pycocotools' COCOeval \
      does: AP@[.5:.95], AP50 and AP75 over the set's classes with a true box, and per class.
      """,
    version: versionText)

  @Argument(help: ArgumentHelp(modelArgumentHelp + " None with --score-detections.", valueName: "model"))
  var model: String?

  @Option(help: ArgumentHelp("Apply this adapter; repeat to stack several. Default: none.", valueName: "path"))
  var adapter: [String] = []

  @Option(
    help: ArgumentHelp(
      "A dataset to evaluate, reported as NAME; repeatable (at least one).",
      valueName: "name=path"))
  var set: [String] = []

  @Option(
    name: .customLong("score-detections"),
    help: ArgumentHelp(
      "Score this COCO results file (a JSON array of image_id, category_id, bbox [x, y, w, h], score; image i of the set is id i + 1, category ids are its labels) against the one --set, a detection dataset, without a model.",
      valueName: "path"))
  var scoreDetections: String?

  @Flag(name: .customLong("per-class"), help: "Add a line per class to the table. Default: one line per set.")
  var perClass = false

  @Option(
    help: ArgumentHelp(
      "Also write the logits as a tensor file (one F32 tensor per set; a classifier). Default: none.",
      valueName: "path"))
  var logits: String?

  @Option(
    help: ArgumentHelp(
      "Also write each pixel's predicted class as a tensor file (one U8 tensor (N, H, W) of head rows per set; a segmentation model). Default: none.",
      valueName: "path"))
  var predictions: String?

  @Option(
    help: ArgumentHelp(
      "Write PNG pictures of the first images of each set (image, true classes, predicted classes side by side) and legend.txt into this new directory (a segmentation model). Default: none.",
      valueName: "dir"))
  var overlay: String?

  @Option(
    name: .customLong("overlay-images"),
    help: ArgumentHelp("Pictures per set with --overlay (fewer when a set is smaller).", valueName: "n"))
  var overlayImages = 4

  @Option(
    name: .customLong("batch-size"),
    help: ArgumentHelp(
      "Images per forward pass; a segmentation model's batches are cut further to keep their pixel logits within 64 MiB.",
      valueName: "n"))
  var batchSize = 256

  @OptionGroup var modelOptions: ModelOptions

  @Flag(
    name: .shortAndLong, help: "Replace an existing logits or predictions file or overlay directory. Default: refuse.")
  var force = false

  @OptionGroup var json: JSONOption
  @OptionGroup var quiet: QuietOption

  public init() {}

  public func validate() throws {
    guard !set.isEmpty else { throw ValidationError("at least one --set NAME=PATH is needed") }
    if scoreDetections != nil {
      if model != nil { throw ValidationError("--score-detections scores a results file without a model; drop MODEL") }
      if set.count > 1 {
        throw ValidationError("--score-detections scores one --set: the results' image ids are its images")
      }
      let given = [
        ("--adapter", !adapter.isEmpty), ("--logits", logits != nil), ("--predictions", predictions != nil),
        ("--overlay", overlay != nil), ("--heads", modelOptions.heads != nil), ("--mean", modelOptions.mean != nil),
        ("--std", modelOptions.std != nil), ("--class-names", modelOptions.classNames != nil),
      ]
      if let option = given.first(where: \.1)?.0 {
        throw ValidationError("\(option) applies to a model; --score-detections scores a results file")
      }
    } else if model == nil {
      throw ValidationError("a MODEL is needed (or --score-detections FILE to score detections without one)")
    }
    guard batchSize > 0 else { throw ValidationError("--batch-size must be at least 1") }
    guard overlayImages > 0 else { throw ValidationError("--overlay-images must be at least 1") }
  }

  public func run() throws {
    if let scoreDetections { return try score(scoreDetections) }
    guard let model else { preconditionFailure("validate() requires a model") }
    try InputPath.check(model)
    let inputs = [model] + adapter
    for path in [logits, predictions].compactMap({ $0 }) { try checkOutputPath(path, force: force, inputs: inputs) }
    let base = try BaseModel(path: model, overrides: try modelOptions.overrides())
    switch base.config.task {
    case .classification:
      guard predictions == nil, overlay == nil else {
        throw ToolError(
          .option, file: model,
          "a classification model; --\(predictions != nil ? "predictions" : "overlay") is for a "
            + "segmentation model's pixels (--logits writes a classifier's)")
      }
    case .segmentation:
      guard logits == nil else {
        throw ToolError(
          .option, file: model,
          "a segmentation model; --logits writes a classifier's logits (use --predictions for each "
            + "pixel's predicted class)")
      }
    case .detection: throw ToolError(.unsupported, file: model, ViTConfig.detectionNotBuilt)
    }
    let adapted = try AdaptedModel(base: base, adapters: try adapter.map(AdaptedModel.readAdapter))
    let network = ViTNetwork(model: adapted.model)
    let classMap = ClassMap(names: adapted.classes)
    let progress = ProgressReporter(tool: Self.toolName, quiet: quiet.quiet)
    if base.config.task == .segmentation {
      try evaluateSegmentation(base: base, network: network, classMap: classMap, progress: progress)
      return
    }
    let classes = adapted.classes
    var results: [EvaluatedSet] = []
    var logitTensors: [(info: TensorInfo, bytes: [UInt8])] = []
    for spec in set {
      let (name, path) = namedPath(spec)
      try InputPath.check(path)
      guard case .labeled(let images) = try base.loadSet(path, labeledBy: classMap) else {
        preconditionFailure("a classifier's sets are read as labelled images")
      }
      var collected: [Float] = []
      let accuracy = evaluate(
        network, on: images, batchSize: batchSize,
        logitsSink: logits == nil ? nil : { collected += $0.buffer })
      progress.message("\(name): \(EvalReport.percent(accuracy.percent))% of \(accuracy.total)")
      results.append(EvaluatedSet(name: name, file: path, accuracy: accuracy))
      if let logits {
        logitTensors.append(
          (
            try TensorInfo(name: name, dtype: .f32, shape: [images.count, classes.count], file: logits),
            try FloatConversion.bytes(from: collected, dtype: .f32, file: logits, tensor: name)
          ))
      }
    }
    if let logits {
      try TensorWriter.write(
        path: logits, metadata: [SwapMetadata.classes: SwapMetadata.classList(classes)], tensors: logitTensors)
    }
    Console.current.write(
      json.json
        ? EvalReport.json(model: model, adapters: adapter, classes: classes, sets: results)
        : EvalReport.table(results, classes: classes, perClass: perClass))
  }
}

extension Eval {
  /// --score-detections: the results file read against the set's images and classes (its image ids the
  /// set's positions + 1, its category ids the set's labels), scored, and reported.
  func score(_ results: String) throws {
    let (name, path) = namedPath(set[0])
    try InputPath.check(path)
    try InputPath.check(results)
    let truth = try DetectionFile(path: path)
    guard let data = FileManager.default.contents(atPath: results) else {
      throw ToolError.system(results, "reading the results")
    }
    guard let text = String(validating: [UInt8](data), as: UTF8.self) else {
      throw ToolError(.input, file: results, "is not UTF-8 text")
    }
    let detections = try COCOResults.read(
      text, file: results, images: truth.images.count, classes: truth.classes.count, set: path)
    let scores = cocoScores(truth: truth.images.boxes, detections: detections)
    let sets = [DetectedSetScores(name: name, file: path, scores: scores)]
    let classes = truth.classes.map { Optional($0) }
    Console.current.write(
      json.json
        ? DetectionReport.json(model: nil, results: results, adapters: [], classes: classes, sets: sets)
        : DetectionReport.table(sets, classes: classes, perClass: perClass))
  }
}
