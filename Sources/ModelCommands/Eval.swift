// kswap-eval: top-1 accuracy of a model, or a base plus adapters, per set and per class (Man/kswap-eval.1).

import ArgumentParser
import Foundation
import Swap
import TensorFile
import ToolSupport
import ViT

public struct Eval: ModelTool {
  public static let configuration = CommandConfiguration(
    commandName: "kswap-eval",
    abstract: "Top-1 accuracy of a ViT, or a base plus adapters, on datasets, per set and per class.",
    discussion: """
      Adapters are applied unmerged (W x + s B A x, their head replacing the base's), which gives the numbers \
      of the model kswap-merge makes from them. Dataset classes are matched to the model's by name. The model \
      is a kswap model or a timm, Hugging Face ViT or DINOv2 checkpoint (safetensors, sharded, .kst, PyTorch \
      .bin/.pth, or a Hugging Face model folder); --heads, --mean, --std and --class-names give what such a \
      file and its config.json do not say.
      """,
    version: versionText)

  @Argument(help: ArgumentHelp(modelArgumentHelp, valueName: "model"))
  var model: String

  @Option(help: ArgumentHelp("Apply this adapter; repeat to stack several. Default: none.", valueName: "path"))
  var adapter: [String] = []

  @Option(
    help: ArgumentHelp(
      "A dataset to evaluate, reported as NAME; repeatable (at least one).",
      valueName: "name=path"))
  var set: [String] = []

  @Flag(name: .customLong("per-class"), help: "Add a line per class to the table. Default: one line per set.")
  var perClass = false

  @Option(
    help: ArgumentHelp(
      "Also write the logits as a tensor file (one F32 tensor per set). Default: none.",
      valueName: "path"))
  var logits: String?

  @Option(name: .customLong("batch-size"), help: ArgumentHelp("Images per forward pass.", valueName: "n"))
  var batchSize = 256

  @OptionGroup var modelOptions: ModelOptions

  @Flag(name: .shortAndLong, help: "Replace an existing logits file. Default: refuse.")
  var force = false

  @OptionGroup var json: JSONOption
  @OptionGroup var quiet: QuietOption

  public init() {}

  public func validate() throws {
    guard !set.isEmpty else { throw ValidationError("at least one --set NAME=PATH is needed") }
    guard batchSize > 0 else { throw ValidationError("--batch-size must be at least 1") }
  }

  public func run() throws {
    try InputPath.check(model)
    if let logits { try checkOutputPath(logits, force: force, inputs: [model] + adapter) }
    let base = try BaseModel(path: model, overrides: try modelOptions.overrides())
    try base.requireClassifier(tool: Self.toolName)
    let adapted = try AdaptedModel(base: base, adapters: try adapter.map(AdaptedModel.readAdapter))
    let classes = adapted.classes
    let network = ViTNetwork(model: adapted.model)
    let classMap = ClassMap(names: classes)
    var results: [EvaluatedSet] = []
    var logitTensors: [(info: TensorInfo, bytes: [UInt8])] = []
    let progress = ProgressReporter(tool: Self.toolName, quiet: quiet.quiet)
    for spec in set {
      let (name, path) = namedPath(spec)
      try InputPath.check(path)
      let images = try base.loadDataset(path).labeled(by: classMap)
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
