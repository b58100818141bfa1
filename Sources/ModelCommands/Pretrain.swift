// kswap-pretrain: makes a base model for the swap tools (Man/kswap-pretrain.1). From scratch it trains a
// small ViT, every parameter trainable (how the demo's base model was made; Scripts/pretrain-base); with
// --backbone it fits a linear head (optionally with LoRA on the MLPs, merged in) on a frozen pretrained
// backbone at the training images' size. Either way it writes a model with its architecture, classes and
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
    abstract: "Train a small ViT from scratch, or fit a head on a pretrained backbone; writes the model.",
    discussion: """
      With --backbone the backbone stays frozen and a new linear head for the training set's classes is \
      trained on its class-token features, computed once per image (with --lora-rank, LoRA on the MLPs trains \
      too, every epoch forwarding every image, and is merged into the written weights). The model takes the \
      training images' size: its position grid is resized bicubically and stored at that size. Grey images \
      are repeated to the backbone's 3 channels.
      """,
    version: versionText)

  @Option(help: ArgumentHelp("The training dataset (required); its class list becomes the head's.", valueName: "path"))
  var train: String

  @Option(help: ArgumentHelp("A test dataset, evaluated after every epoch. Default: none.", valueName: "path"))
  var test: String?

  @Option(
    help: ArgumentHelp(
      "Fit a head on this pretrained ViT (any model file kswap-eval reads), kept frozen. Default: train from scratch.",
      valueName: "path"))
  var backbone: String?

  @Option(
    name: .customLong("lora-rank"),
    help: ArgumentHelp(
      "With --backbone, also train LoRA of this rank on every block's MLP and merge it in. Default: head only.",
      valueName: "r"))
  var loraRank: Int?

  @Option(
    help: ArgumentHelp(
      "Per-channel input mean on the 0..1 scale, comma-separated. Default: the backbone's metadata or config files; from scratch, the training set's.",
      valueName: "list"))
  var mean: String?

  @Option(
    help: ArgumentHelp(
      "Per-channel input standard deviation, comma-separated. Default: as --mean.", valueName: "list"))
  var std: String?

  @Option(help: ArgumentHelp("Patch side in pixels (from scratch). Default: 7.", valueName: "pixels")) var patch: Int?
  @Option(help: ArgumentHelp("Token width (from scratch). Default: 64.", valueName: "n")) var dim: Int?
  @Option(help: ArgumentHelp("Number of blocks (from scratch). Default: 4.", valueName: "n")) var depth: Int?
  @Option(
    help: ArgumentHelp(
      "Attention heads: of the new model from scratch (default 4); with --backbone, the backbone's when its file does not say.",
      valueName: "n"))
  var heads: Int?
  @Option(
    name: .customLong("mlp-dim"),
    help: ArgumentHelp("Hidden width of each MLP (from scratch). Default: 256.", valueName: "n"))
  var mlpDim: Int?
  @Option(help: ArgumentHelp("Epochs.", valueName: "n")) var epochs = 8
  @Option(name: .customLong("batch-size"), help: ArgumentHelp("Images per batch.", valueName: "n")) var batchSize = 128
  @Option(help: ArgumentHelp("Peak learning rate of AdamW.", valueName: "rate")) var lr: Float = 2e-3
  @Option(help: ArgumentHelp("Linear warm-up steps before the cosine.", valueName: "steps")) var warmup = 300
  @Option(name: .customLong("weight-decay"), help: ArgumentHelp("AdamW weight decay on matrices.", valueName: "w"))
  var weightDecay: Float = 0.05
  @Option(
    help: ArgumentHelp(
      "Dropout probability where the official ViT drops (embeddings, after GELU, after fc2), from scratch or with --lora-rank. Default: 0 (the shipped base model was trained without).",
      valueName: "p"))
  var dropout: Float = 0

  @OptionGroup var output: OutputOptions
  @OptionGroup var seed: SeedOption
  @OptionGroup var quiet: QuietOption

  public init() {}

  /// The architecture of a model trained from scratch, defaults filled in.
  var architecture: (patch: Int, dim: Int, depth: Int, heads: Int, mlpDim: Int) {
    (patch ?? 7, dim ?? 64, depth ?? 4, heads ?? 4, mlpDim ?? 256)
  }

  public func validate() throws {
    if backbone != nil {
      let given = [("--patch", patch), ("--dim", dim), ("--depth", depth), ("--mlp-dim", mlpDim)]
      if let flag = given.first(where: { $0.1 != nil })?.0 {
        throw ValidationError(
          "\(flag) is for training from scratch; with --backbone the architecture is the backbone's")
      }
    } else if loraRank != nil {
      throw ValidationError("--lora-rank needs --backbone (from scratch every parameter trains)")
    }
    if let loraRank, loraRank <= 0 { throw ValidationError("--lora-rank must be at least 1") }
    let a = architecture
    guard a.patch > 0, a.dim > 0, a.depth > 0, a.heads > 0, a.dim % a.heads == 0, a.mlpDim > 0 else {
      throw ValidationError(
        "--patch, --dim, --depth, --heads and --mlp-dim must be positive, --dim a multiple of --heads")
    }
    guard epochs > 0, batchSize > 0, lr > 0, warmup >= 0, weightDecay >= 0 else {
      throw ValidationError("--epochs, --batch-size and --lr must be positive")
    }
    guard dropout >= 0, dropout < 1 else { throw ValidationError("--dropout must be at least 0 and below 1") }
    if dropout > 0 && backbone != nil && loraRank == nil {
      throw ValidationError(
        "--dropout acts inside the model; a head fitted on the backbone's features sees none (add --lora-rank)")
    }
    guard (mean == nil) == (std == nil) else { throw ValidationError("--mean and --std go together") }
    for (flag, text) in [("--mean", mean), ("--std", std)] {
      guard let text else { continue }
      guard let values = parseNumbers(text), flag == "--mean" || values.allSatisfy({ $0 > 0 })
      else {
        throw ValidationError(
          "\(flag) must be comma-separated finite numbers\(flag == "--std" ? ", each above 0" : "")")
      }
    }
  }

  public func run() throws {
    let inputs = [train] + (test.map { [$0] } ?? []) + (backbone.map { [$0] } ?? [])
    let path = try output.resolvedPath(inputs: inputs)
    for input in inputs { try InputPath.check(input) }
    if let backbone {
      try fitHead(backbonePath: backbone, to: path)
    } else {
      try trainFromScratch(to: path)
    }
  }

  // MARK: - From scratch

  func trainFromScratch(to path: String) throws {
    // Normalisation: the training set's own mean and std, rounded so the metadata reads well.
    let raw = try DatasetFile(path: train)
    let channels = raw.images.channels
    let (mean, std) = try flagNormalisation(channels: channels, for: train) ?? Self.statistics(raw.images)
    let a = architecture
    guard raw.images.height == raw.images.width, raw.images.height % a.patch == 0 else {
      throw SwapInputError(
        "\(train): images \(raw.images.height)x\(raw.images.width) are not square multiples of --patch \(a.patch)")
    }
    var set = raw.images
    set.mean = mean
    set.std = std
    let testSet = try loadTest(mean: mean, std: std, classes: raw.classes, like: set)
    let config = ViTConfig(
      imageSize: raw.images.height, patchSize: a.patch, channels: channels, dim: a.dim, depth: a.depth,
      heads: a.heads, mlpDim: a.mlpDim, classes: raw.classes.count)
    var generator = SeededGenerator(seed: seed.seed)
    let model = VisionTransformer(config: config, generator: &generator)
    let network = ViTNetwork(model: model)
    network.setTrainable(.all)
    let progress = ProgressReporter(tool: Self.toolName, quiet: quiet.quiet)
    train(network, on: set, test: testSet, stage: "pretrain", progress: progress)
    try Self.writeModel(
      model.baseTensors(), config: config, classes: raw.classes, mean: mean, std: std, to: path)
  }

  // MARK: - Head on a backbone

  func fitHead(backbonePath: String, to path: String) throws {
    let progress = ProgressReporter(tool: Self.toolName, quiet: quiet.quiet)
    // A dataset passed as the backbone gets its own message (its header says what it is).
    if let reader = try? TensorReader(path: backbonePath),
      reader.info(DatasetLayout.images) != nil && reader.info(DatasetLayout.labels) != nil
    {
      throw SwapInputError("\(backbonePath): is a dataset, not a ViT backbone; pass it with --train")
    }
    // Any checkpoint the swap tools read (Man/kswap-eval.1, MODEL FILES), with or without a head.
    let backbone = try BaseModel(
      path: backbonePath, overrides: ModelOverrides(heads: heads, mean: flagValues(mean), std: flagValues(std)),
      requireHead: false)
    let model = try backbone.makeModel()
    var config = model.config
    let (mean, std) = (backbone.mean, backbone.std)
    // Grey images come out of DatasetFile repeated to the backbone's channels.
    let trainFile = try DatasetFile(path: train, mean: mean, std: std)
    let set = trainFile.images
    guard set.height == set.width, set.height % config.patchSize == 0 else {
      throw SwapInputError(
        "\(train): images are \(set.height)x\(set.width); \(backbonePath) takes square images whose side is a "
          + "multiple of its patch, \(config.patchSize) (resize them with kswap-pack --resize)")
    }
    let testSet = try loadTest(mean: mean, std: std, classes: trainFile.classes, like: set)
    var generator = SeededGenerator(seed: seed.seed)
    if let old = model.head {
      progress.message("\(backbonePath): its \(old.outFeatures)-class head is replaced by a new one")
    }
    HeadFit.attachFreshHead(to: model, classes: trainFile.classes.count, generator: &generator)
    if let loraRank {
      model.addLoRA(LoRAConfig(rank: loraRank), generator: &generator)
      let network = ViTNetwork(model: model)
      network.setTrainable(.loraAnd(["head"]))
      train(network, on: set, test: testSet, stage: "head+lora", progress: progress)
      model.mergeLoRA()
    } else {
      guard let head = model.head else { preconditionFailure("attachFreshHead gives the model a head") }
      let clock = ContinuousClock()
      var started = clock.now
      let features = HeadFit.classTokenFeatures(of: set, model: model) { done, total in
        let seconds = (clock.now - started).seconds
        progress.update(
          ProgressEvent(
            stage: "features", step: done, steps: total,
            values: seconds > 0 ? [("img/s", (Double(done) / seconds).rounded())] : []))
      }
      let testFeatures = testSet.map { HeadFit.classTokenFeatures(of: $0, model: model) }
      let featureSeconds = (clock.now - started).seconds
      let images = set.count + (testSet?.count ?? 0)
      progress.message(
        "class-token features of \(images) images in \(Self.formatSeconds(featureSeconds)) s "
          + "(\(Int((Double(images) / max(featureSeconds, 1e-9)).rounded())) img/s), computed once")
      started = clock.now
      train(LinearHeadNetwork(head: head), on: features, test: testFeatures, stage: "head", progress: progress)
      progress.message("head trained in \(Self.formatSeconds((clock.now - started).seconds)) s on the features")
    }
    // The written model's native size is the training images': its position grid is stored resized.
    config.imageSize = set.height
    config.classes = trainFile.classes.count
    var weights = model.baseTensors()
    weights["pos_embed"] = model.embedding.positionTable(grid: set.height / config.patchSize)
    try Self.writeModel(weights, config: config, classes: trainFile.classes, mean: mean, std: std, to: path)
  }

  // MARK: - Shared

  /// Trains `network` with SupervisedTrainer, reporting every step and, after each epoch, the test accuracy.
  func train(
    _ network: SwapNetwork, on set: LabeledImages, test: LabeledImages?, stage: String, progress: ProgressReporter
  ) {
    var settings = SupervisedSettings()
    settings.epochs = epochs
    settings.batchSize = batchSize
    settings.peakRate = lr
    settings.warmupSteps = warmup
    settings.weightDecay = weightDecay
    settings.dropout = dropout
    let trainer = SupervisedTrainer(network: network, settings: settings, set: set, seed: seed.seed)
    while !trainer.finished {
      let epoch = trainer.epoch + 1
      let loss = trainer.runEpoch { step, steps, loss, _ in
        progress.update(
          ProgressEvent(
            stage: stage, epoch: epoch, epochs: epochs, step: step, steps: steps, values: [("loss", Double(loss))]))
      }
      var values: [(String, Double)] = [("loss", Double(loss))]
      if let test { values.append(("test%", evaluate(network, on: test).percent)) }
      progress.endEpoch(
        ProgressEvent(
          stage: stage, epoch: epoch, epochs: epochs, step: trainer.order.batchesPerPass,
          steps: trainer.order.batchesPerPass, values: values))
    }
    progress.finish()
  }

  /// The --test set, normalised like the training set and labelled with its classes; it must have the
  /// training images' shape.
  func loadTest(mean: [Float], std: [Float], classes: [String], like set: LabeledImages) throws -> LabeledImages? {
    guard let test else { return nil }
    let images = try DatasetFile(path: test, mean: mean, std: std).labeled(by: ClassMap(names: classes))
    guard images.channels == set.channels, images.height == set.height, images.width == set.width else {
      throw SwapInputError(
        "\(test): images are \(images.channels)x\(images.height)x\(images.width); the training set's are "
          + "\(set.channels)x\(set.height)x\(set.width)")
    }
    return images
  }

  /// --mean and --std, checked against the model's channel count; nil when they were not given.
  func flagNormalisation(channels: Int, for file: String) throws -> (mean: [Float], std: [Float])? {
    guard let meanValues = flagValues(mean), let stdValues = flagValues(std) else { return nil }
    for (flag, values) in [("--mean", meanValues), ("--std", stdValues)] where values.count != channels {
      throw ToolError("\(flag) gives \(values.count) values; \(file) has \(channels) input channels")
    }
    return (meanValues, stdValues)
  }

  /// A --mean or --std list as floats (validate() has checked it).
  func flagValues(_ text: String?) -> [Float]? { text.flatMap(parseNumbers)?.map(Float.init) }

  /// Writes a model: the tensors (timm names, F32) with its config, classes and normalisation in the metadata.
  static func writeModel(
    _ tensors: [String: Tensor], config: ViTConfig, classes: [String], mean: [Float], std: [Float], to path: String
  ) throws {
    let metadata = [
      ViTConfig.metadataKey: config.jsonString(), SwapMetadata.classes: SwapMetadata.array(classes),
      SwapMetadata.mean: JSON.array(mean.map { .number("\($0)") }).text(),
      SwapMetadata.std: JSON.array(std.map { .number("\($0)") }).text(),
    ]
    try Checkpoint.write(tensors, metadata: metadata, to: path)
  }

  static func formatSeconds(_ seconds: Double) -> String { String(format: "%.1f", seconds) }

  /// Per-channel mean and std on the [0, 1] scale, rounded to three decimals.
  static func statistics(_ images: LabeledImages) -> (mean: [Float], std: [Float]) {
    let plane = images.height * images.width
    var mean: [Float] = [], std: [Float] = []
    // Identity normalisation: raw [0, 1] values. Copied out: a buffer pointer into the temporary batch
    // would outlive it (a large set's memory is unmapped when the batch is freed).
    let all = images.batch(Array(0..<images.count)).scalars
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
