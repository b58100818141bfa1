// kswap-pretrain: makes a base model for the swap tools (Man/kswap-pretrain.1), a classifier or (with
// --task segmentation) a segmentation model. From scratch it trains a small ViT, every parameter
// trainable (how the demos' base models were made; Scripts/pretrain-base, Scripts/pretrain-segmentation);
// with --backbone it fits a new linear head (optionally with LoRA on the MLPs, merged in, or with the
// whole backbone fine-tuned) on a pretrained backbone at the training images' size. Either way it writes
// a model with its architecture, task, classes and input normalisation in `__metadata__`.

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
      too, every epoch forwarding every image, and is merged into the written weights; with --fine-tune every \
      parameter trains). The model takes the training images' size: its position grid is resized bicubically \
      and stored at that size. Grey images are repeated to the backbone's 3 channels.

      --task segmentation trains a segmentation model on a segmentation dataset (kswap-pack --scenes makes \
      them): the head on every patch token, upsampled bilinearly to pixel logits, under the per-pixel \
      cross-entropy (mask value 255 ignored). With --backbone, a classifier's or a segmentation model's \
      backbone takes a fresh per-patch head; frozen, every image goes through the backbone every epoch.
      """,
    version: versionText)

  @Option(help: ArgumentHelp("The training dataset (required); its class list becomes the head's.", valueName: "path"))
  var train: String

  @Option(
    help: ArgumentHelp(
      "A test dataset, evaluated after every epoch (accuracy; for segmentation mIoU and pixel accuracy). Default: none.",
      valueName: "path"))
  var test: String?

  @Option(
    help: ArgumentHelp(
      "What the model predicts: classification (a class per image) or segmentation (a class per pixel, trained on a segmentation dataset).",
      valueName: "task"))
  var task: DatasetLayout.Task = .classification

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

  @Flag(
    name: .customLong("fine-tune"),
    help:
      "With --backbone, train every parameter of the backbone with the new head (the backbone as a start). Default: frozen."
  )
  var fineTune = false

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
      "Dropout probability where the official ViT drops (embeddings, after GELU, after fc2), from scratch, with --lora-rank or --fine-tune. Default: 0 (the shipped base models were trained without).",
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
    if task == .detection { throw ValidationError(ViTConfig.detectionNotBuilt) }
    if backbone != nil {
      let given = [("--patch", patch), ("--dim", dim), ("--depth", depth), ("--mlp-dim", mlpDim)]
      if let flag = given.first(where: { $0.1 != nil })?.0 {
        throw ValidationError(
          "\(flag) is for training from scratch; with --backbone the architecture is the backbone's")
      }
    } else if loraRank != nil || fineTune {
      throw ValidationError(
        "\(fineTune ? "--fine-tune" : "--lora-rank") needs --backbone (from scratch every parameter trains)")
    }
    if loraRank != nil && fineTune {
      throw ValidationError("--lora-rank and --fine-tune do not combine: with --fine-tune every parameter trains")
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
    if dropout > 0 && backbone != nil && loraRank == nil && !fineTune {
      throw ValidationError(
        "--dropout acts inside the model; a head fitted on the backbone's features sees none "
          + "(add --lora-rank or --fine-tune)")
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
    try checkTrainingTask()
    if let backbone {
      try fitHead(backbonePath: backbone, to: path)
    } else {
      try trainFromScratch(to: path)
    }
  }

  /// Refuses a training set of the other task, with the flag that fits it, before anything is read.
  func checkTrainingTask() throws {
    let found = try DatasetFile.task(of: train)
    switch (task, found) {
    case (.classification, .segmentation):
      throw ToolError(
        .input, file: train,
        "a segmentation dataset (metadata task 'segmentation', a class per pixel); a classification "
          + "dataset (one label per image) is needed here; for a segmentation model add --task segmentation")
    case (.segmentation, .classification):
      throw ToolError(
        .input, file: train,
        "a classification dataset (one label per image); --task segmentation trains on a segmentation "
          + "dataset (metadata task 'segmentation', a class per pixel; kswap-pack --scenes composes one)")
    default: return
    }
  }

  // MARK: - From scratch

  func trainFromScratch(to path: String) throws {
    let (sets, classes, mean, std) = try loadSets(normalisation: nil)
    let a = architecture
    guard sets.train.height == sets.train.width, sets.train.height % a.patch == 0 else {
      throw ToolError(
        .option, file: train,
        "images \(sets.train.height)x\(sets.train.width) are not square multiples of --patch \(a.patch)")
    }
    let config = ViTConfig(
      imageSize: sets.train.height, patchSize: a.patch, channels: sets.train.channels, dim: a.dim, depth: a.depth,
      heads: a.heads, mlpDim: a.mlpDim, classes: classes.count, task: task)
    var generator = SeededGenerator(seed: seed.seed)
    let model = VisionTransformer(config: config, generator: &generator)
    let network = ViTNetwork(model: model)
    network.setTrainable(.all)
    let progress = ProgressReporter(tool: Self.toolName, quiet: quiet.quiet)
    train(network, on: sets, classes: classes, stage: "pretrain", progress: progress)
    try Self.writeModel(model.baseTensors(), config: config, classes: classes, mean: mean, std: std, to: path)
  }

  // MARK: - Head on a backbone

  func fitHead(backbonePath: String, to path: String) throws {
    let progress = ProgressReporter(tool: Self.toolName, quiet: quiet.quiet)
    // A dataset passed as the backbone gets its own message (its header says what it is).
    if let reader = try? TensorReader(path: backbonePath), reader.info(DatasetLayout.images) != nil,
      reader.info(DatasetLayout.labels) != nil || reader.info(DatasetLayout.masks) != nil
    {
      throw ToolError(.input, file: backbonePath, "is a dataset, not a ViT backbone; pass it with --train")
    }
    // Any checkpoint the swap tools read (Man/kswap-eval.1, MODEL FILES), with or without a head.
    let backbone = try BaseModel(
      path: backbonePath, overrides: ModelOverrides(heads: heads, mean: flagValues(mean), std: flagValues(std)),
      requireHead: false)
    // Grey images come out of the dataset readers repeated to the backbone's channels.
    let (sets, classes, mean, std) = try loadSets(normalisation: (backbone.mean, backbone.std))
    let patch = backbone.config.patchSize
    guard sets.train.height == sets.train.width, sets.train.height % patch == 0 else {
      throw ToolError(
        .input, file: train,
        "images are \(sets.train.height)x\(sets.train.width); \(backbonePath) takes square images "
          + "whose side is a multiple of its patch, \(patch) (resize them with kswap-pack --resize)")
    }
    let model = try backboneModel(backbone, imageSize: sets.train.height)
    var generator = SeededGenerator(seed: seed.seed)
    if backbone.config.classes > 0 {
      let kind = backbone.config.task == .classification ? "" : "per-patch "
      let boxes = backbone.config.task == .detection ? " (its box branch is dropped)" : ""
      progress.message(
        "\(backbonePath): its \(backbone.config.classes)-class \(kind)head is replaced by a new one\(boxes)")
    }
    HeadFit.attachFreshHead(to: model, classes: classes.count, generator: &generator)
    if let loraRank {
      model.addLoRA(LoRAConfig(rank: loraRank), generator: &generator)
      let network = ViTNetwork(model: model)
      network.setTrainable(.loraAnd(["head"]))
      train(network, on: sets, classes: classes, stage: "head+lora", progress: progress)
      model.mergeLoRA()
    } else if fineTune {
      let network = ViTNetwork(model: model)
      network.setTrainable(.all)
      train(network, on: sets, classes: classes, stage: "fine-tune", progress: progress)
    } else if case .labeled(let set) = sets.train {
      let testSet: LabeledImages? = if case .labeled(let test)? = sets.test { test } else { nil }
      try fitHeadOnFeatures(model: model, set: set, test: testSet, classes: classes, progress: progress)
    } else {
      // A segmentation head reads every patch token: the frozen backbone runs for each batch, its blocks
      // without a backward pass (nothing below the head trains).
      let network = ViTNetwork(model: model)
      network.setTrainable(.loraAnd(["head"]))
      train(network, on: sets, classes: classes, stage: "head", progress: progress)
    }
    var config = model.config
    config.classes = classes.count
    try Self.writeModel(model.baseTensors(), config: config, classes: classes, mean: mean, std: std, to: path)
  }

  /// The backbone as a headless model of this run's task at the training images' size: its position
  /// grid resized bicubically once, so fine-tuning trains the grid the written model stores.
  func backboneModel(_ backbone: BaseModel, imageSize: Int) throws -> VisionTransformer {
    let source = try backbone.makeModel()
    var config = source.config
    // The backbone keeps neither its head nor a detection model's box branch.
    var tensors = source.baseTensors().filter { !$0.key.hasPrefix("head.") && !$0.key.hasPrefix("box_head.") }
    tensors["pos_embed"] = source.embedding.positionTable(grid: imageSize / config.patchSize)
    (config.imageSize, config.classes, config.task) = (imageSize, 0, task)
    do {
      return try VisionTransformer(config: config, tensors: tensors)
    } catch {
      throw ToolError(.input, file: backbone.path, "\(error)")
    }
  }

  /// A classifier's head on a frozen backbone, trained on class-token features computed once per image.
  func fitHeadOnFeatures(
    model: VisionTransformer, set: LabeledImages, test: LabeledImages?, classes: [String], progress: ProgressReporter
  ) throws {
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
    let testFeatures = test.map { HeadFit.classTokenFeatures(of: $0, model: model) }
    let featureSeconds = (clock.now - started).seconds
    let images = set.count + (test?.count ?? 0)
    progress.message(
      "class-token features of \(images) images in \(Self.formatSeconds(featureSeconds)) s "
        + "(\(Int((Double(images) / max(featureSeconds, 1e-9)).rounded())) img/s), computed once")
    started = clock.now
    train(
      LinearHeadNetwork(head: head), on: (.labeled(features), testFeatures.map { .labeled($0) }), classes: classes,
      stage: "head", progress: progress)
    progress.message("head trained in \(Self.formatSeconds((clock.now - started).seconds)) s on the features")
  }

  // MARK: - Shared

  /// Trains `network` with SupervisedTrainer, reporting every step and, after each epoch, the training
  /// accuracy and the test set's (accuracy, or mIoU and pixel accuracy; after the last epoch, each
  /// class's IoU).
  func train(
    _ network: SwapNetwork, on sets: TrainingSets, classes: [String], stage: String, progress: ProgressReporter
  ) {
    var settings = SupervisedSettings()
    settings.epochs = epochs
    settings.batchSize = batchSize
    settings.peakRate = lr
    settings.warmupSteps = warmup
    settings.weightDecay = weightDecay
    settings.dropout = dropout
    let trainer = SupervisedTrainer(network: network, settings: settings, set: sets.train, seed: seed.seed)
    var lastScores: PixelScores?
    while !trainer.finished {
      let epoch = trainer.epoch + 1
      let result = trainer.runEpoch { step, steps, loss, _ in
        progress.update(
          ProgressEvent(
            stage: stage, epoch: epoch, epochs: epochs, step: step, steps: steps, values: [("loss", Double(loss))]))
      }
      let accuracy = sets.train.task == .segmentation ? "pixel%" : "train%"
      var values = [("loss", Double(result.loss)), (accuracy, result.accuracy)]
      switch sets.test {
      case .labeled(let test)?:
        values.append(("test%", evaluate(network, on: test).percent))
      case .segmented(let test)?:
        let scores = evaluate(network, on: test, classes: classes.count)
        values += [("test mIoU", scores.meanIoU), ("test pixel%", scores.pixelAccuracy)]
        if trainer.finished { lastScores = scores }
      case nil: break
      }
      progress.endEpoch(
        ProgressEvent(
          stage: stage, epoch: epoch, epochs: epochs, step: trainer.order.batchesPerPass,
          steps: trainer.order.batchesPerPass, values: values))
    }
    progress.finish()
    if let lastScores {
      let perClass = lastScores.presentRows.map { "\(classes[$0]) \(String(format: "%.1f", lastScores.iou($0)))" }
      progress.message("test IoU per class: " + perClass.joined(separator: ", "))
    }
  }

  /// The training set and the --test set as the task reads them, with their classes and normalisation:
  /// `normalisation` (a backbone's), else --mean/--std, else the training set's own mean and std,
  /// rounded so the metadata reads well. Grey images are repeated to the normalisation's channels; the
  /// test set is labelled with the training set's classes and must have its images' shape.
  func loadSets(normalisation: (mean: [Float], std: [Float])?) throws -> (
    sets: TrainingSets, classes: [String], mean: [Float], std: [Float]
  ) {
    /// `normalisation`, else the flags', else the statistics of `raw`: every training image at [0, 1].
    func chosen(channels: Int, raw: @autoclosure () -> Tensor) throws -> (mean: [Float], std: [Float]) {
      try normalisation ?? flagNormalisation(channels: channels, for: train) ?? Self.statistics(raw())
    }
    let loaded: (sets: TrainingSets, classes: [String], mean: [Float], std: [Float])
    switch task {
    case .classification:
      var file = try DatasetFile(path: train, mean: normalisation?.mean, std: normalisation?.std)
      let (mean, std) = try chosen(channels: file.images.channels, raw: file.images.batch(Array(0..<file.images.count)))
      (file.images.mean, file.images.std) = (mean, std)
      let map = ClassMap(names: file.classes)
      let testImages = try test.map { try DatasetFile(path: $0, mean: mean, std: std).labeled(by: map) }
      loaded = ((.labeled(file.images), testImages.map { .labeled($0) }), file.classes, mean, std)
    case .segmentation:
      var file = try SegmentationFile(path: train, mean: normalisation?.mean, std: normalisation?.std)
      let (mean, std) = try chosen(channels: file.images.channels, raw: file.images.batch(Array(0..<file.images.count)))
      (file.images.mean, file.images.std) = (mean, std)
      let map = ClassMap(names: file.classes)
      let testImages = try test.map { try SegmentationFile(path: $0, mean: mean, std: std).labeled(by: map) }
      loaded = ((.segmented(file.images), testImages.map { .segmented($0) }), file.classes, mean, std)
    case .detection: throw ValidationError(ViTConfig.detectionNotBuilt)
    }
    try checkTestShape(loaded.sets)
    return loaded
  }

  func checkTestShape(_ sets: TrainingSets) throws {
    guard let test, let set = sets.test else { return }
    let (shape, own) = (
      [set.channels, set.height, set.width], [sets.train.channels, sets.train.height, sets.train.width]
    )
    guard shape == own else {
      let text = { (s: [Int]) in s.map(String.init).joined(separator: "x") }
      throw ToolError(.input, file: test, "images are \(text(shape)); the training set's are \(text(own))")
    }
  }

  /// --mean and --std, checked against the model's channel count; nil when they were not given.
  func flagNormalisation(channels: Int, for file: String) throws -> (mean: [Float], std: [Float])? {
    guard let meanValues = flagValues(mean), let stdValues = flagValues(std) else { return nil }
    for (flag, values) in [("--mean", meanValues), ("--std", stdValues)] where values.count != channels {
      throw ToolError(.option, "\(flag) gives \(values.count) values; \(file) has \(channels) input channels")
    }
    return (meanValues, stdValues)
  }

  /// A --mean or --std list as floats (validate() has checked it).
  func flagValues(_ text: String?) -> [Float]? { text.flatMap(parseNumbers)?.map(Float.init) }

  /// Writes a model: the tensors (timm names, F32) with its config and task (`ViTConfig.metadata`),
  /// classes and normalisation in the metadata.
  static func writeModel(
    _ tensors: [String: Tensor], config: ViTConfig, classes: [String], mean: [Float], std: [Float], to path: String
  ) throws {
    let metadata = config.metadata.merging([
      SwapMetadata.classes: SwapMetadata.array(classes),
      SwapMetadata.mean: JSON.array(mean.map { .number("\($0)") }).text(),
      SwapMetadata.std: JSON.array(std.map { .number("\($0)") }).text(),
    ]) { config, _ in config }
    try Checkpoint.write(tensors, metadata: metadata, to: path)
  }

  static func formatSeconds(_ seconds: Double) -> String { String(format: "%.1f", seconds) }

  /// Per-channel mean and std on the [0, 1] scale of `images` (N, C, H, W), rounded to three decimals.
  static func statistics(_ images: Tensor) -> (mean: [Float], std: [Float]) {
    let (count, channels, plane) = (images.shape[0], images.shape[1], images.shape[2] * images.shape[3])
    var mean: [Float] = [], std: [Float] = []
    // `images` is held for the whole call, so its storage outlives every pointer read from it.
    for c in 0..<channels {
      var sum = 0.0, squares = 0.0, n = 0.0
      for i in 0..<count {
        let start = images.pointer + (i * channels + c) * plane
        for v in UnsafeBufferPointer(start: start, count: plane) {
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

/// The training set and the --test set of a run; labels and masks hold model rows.
typealias TrainingSets = (train: SwapSet, test: SwapSet?)

extension SwapSet {
  /// The images' channels, height and width.
  fileprivate var channels: Int { batchShape(1)[1] }
  fileprivate var height: Int { batchShape(1)[2] }
  fileprivate var width: Int { batchShape(1)[3] }
}
