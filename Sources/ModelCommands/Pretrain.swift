// kswap-pretrain: trains a small ViT from scratch on a dataset, every parameter trainable (how the
// demo's base model was made; Scripts/pretrain-base). Writes a model with its architecture, classes and
// input normalisation in `__metadata__`.

import ArgumentParser
import Foundation
import SeededRandom
import Swap
import TensorFile
import Tensors
import ToolSupport
import ViT

public struct Pretrain: ModelTool {
  public static let configuration = CommandConfiguration(
    commandName: "kswap-pretrain",
    abstract: "Train a small ViT from scratch on a dataset (full-parameter mode); writes the model.",
    version: versionText)

  @Option(help: ArgumentHelp("The training dataset (required).", valueName: "path"))
  var train: String

  @Option(help: ArgumentHelp("A test dataset, evaluated after every epoch. Default: none.", valueName: "path"))
  var test: String?

  @Option(help: ArgumentHelp("Patch side in pixels.", valueName: "pixels")) var patch = 7
  @Option(help: ArgumentHelp("Token width.", valueName: "n")) var dim = 64
  @Option(help: ArgumentHelp("Number of blocks.", valueName: "n")) var depth = 4
  @Option(help: ArgumentHelp("Attention heads.", valueName: "n")) var heads = 4
  @Option(name: .customLong("mlp-dim"), help: ArgumentHelp("Hidden width of each MLP.", valueName: "n")) var mlpDim =
    256
  @Option(help: ArgumentHelp("Epochs.", valueName: "n")) var epochs = 8
  @Option(name: .customLong("batch-size"), help: ArgumentHelp("Images per batch.", valueName: "n")) var batchSize = 128
  @Option(help: ArgumentHelp("Peak learning rate of AdamW.", valueName: "rate")) var lr: Float = 2e-3
  @Option(help: ArgumentHelp("Linear warm-up steps before the cosine.", valueName: "steps")) var warmup = 300
  @Option(name: .customLong("weight-decay"), help: ArgumentHelp("AdamW weight decay on matrices.", valueName: "w"))
  var weightDecay: Float = 0.05

  @OptionGroup var output: OutputOptions
  @OptionGroup var seed: SeedOption
  @OptionGroup var quiet: QuietOption

  public init() {}

  public func validate() throws {
    guard patch > 0, dim > 0, depth > 0, heads > 0, dim % heads == 0, mlpDim > 0 else {
      throw ValidationError(
        "--patch, --dim, --depth, --heads and --mlp-dim must be positive, --dim a multiple of --heads")
    }
    guard epochs > 0, batchSize > 0, lr > 0, warmup >= 0, weightDecay >= 0 else {
      throw ValidationError("--epochs, --batch-size and --lr must be positive")
    }
  }

  public func run() throws {
    let path = try output.resolvedPath(inputs: [train] + (test.map { [$0] } ?? []))
    // Normalisation: the training set's own mean and std, rounded so the metadata reads well.
    let raw = try DatasetFile(path: train, mean: [0], std: [1])
    let channels = raw.images.channels
    let (mean, std) = Self.statistics(raw.images)
    guard raw.images.height == raw.images.width, raw.images.height % patch == 0 else {
      throw SwapInputError(
        "\(train): images \(raw.images.height)x\(raw.images.width) are not square multiples of --patch \(patch)")
    }
    var set = raw.images
    set.mean = mean
    set.std = std
    var testSet: LabeledImages?
    if let test {
      let file = try DatasetFile(path: test, mean: mean, std: std)
      testSet = try file.labeled(by: ClassMap(names: raw.classes))
    }
    let config = ViTConfig(
      imageSize: raw.images.height, patchSize: patch, channels: channels, dim: dim, depth: depth,
      heads: heads, mlpDim: mlpDim, classes: raw.classes.count)
    var generator = SeededGenerator(seed: seed.seed)
    let model = VisionTransformer(config: config, generator: &generator)
    let network = ViTNetwork(model: model)
    network.setTrainable(.all)
    var settings = SupervisedSettings()
    settings.epochs = epochs
    settings.batchSize = batchSize
    settings.peakRate = lr
    settings.warmupSteps = warmup
    settings.weightDecay = weightDecay
    let trainer = SupervisedTrainer(network: network, settings: settings, set: set, seed: seed.seed)
    let progress = ProgressReporter(tool: Self.toolName, quiet: quiet.quiet)
    while !trainer.finished {
      let epoch = trainer.epoch + 1
      let loss = trainer.runEpoch { step, steps, loss, _ in
        progress.update(
          ProgressEvent(
            stage: "pretrain", epoch: epoch, epochs: epochs, step: step, steps: steps,
            values: [("loss", Double(loss))]))
      }
      var values: [(String, Double)] = [("loss", Double(loss))]
      if let testSet { values.append(("test%", evaluate(network, on: testSet).percent)) }
      progress.endEpoch(
        ProgressEvent(
          stage: "pretrain", epoch: epoch, epochs: epochs, step: trainer.order.batchesPerPass,
          steps: trainer.order.batchesPerPass, values: values))
    }
    progress.finish()
    var tensors: [(info: TensorInfo, bytes: [UInt8])] = []
    for (name, tensor) in model.baseTensors().sorted(by: { $0.key < $1.key }) {
      tensors.append(
        (
          try TensorInfo(name: name, dtype: .f32, shape: tensor.shape, file: path),
          try FloatConversion.bytes(from: tensor.scalars, dtype: .f32, file: path, tensor: name)
        ))
    }
    let metadata = [
      ViTConfig.metadataKey: config.jsonString(), SwapMetadata.classes: SwapMetadata.array(raw.classes),
      SwapMetadata.mean: JSON.array(mean.map { .number("\($0)") }).text(),
      SwapMetadata.std: JSON.array(std.map { .number("\($0)") }).text(),
    ]
    try TensorWriter.write(path: path, metadata: metadata, tensors: tensors)
  }

  /// Per-channel mean and std on the [0, 1] scale, rounded to three decimals.
  static func statistics(_ images: LabeledImages) -> ([Float], [Float]) {
    let plane = images.height * images.width
    var mean: [Float] = [], std: [Float] = []
    let all = images.batch(Array(0..<images.count)).buffer  // identity normalisation: raw [0, 1] values
    for c in 0..<images.channels {
      var sum = 0.0, squares = 0.0, n = 0.0
      for i in 0..<images.count {
        let start = i * images.imageSize + c * plane
        for v in all[start..<(start + plane)] {
          sum += Double(v)
          squares += Double(v) * Double(v)
          n += 1
        }
      }
      let m = sum / n
      mean.append(Float((m * 1000).rounded() / 1000))
      std.append(Float(((squares / n - m * m).squareRoot() * 1000).rounded() / 1000))
    }
    return (mean, std)
  }
}
