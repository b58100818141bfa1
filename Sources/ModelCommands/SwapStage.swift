// What kswap-learn and kswap-forget share: check every input before training, build the model (base,
// adapter, new head rows, LoRA) and its optimizer (the adapter's, continued, or a fresh one), run the
// stage epoch by epoch with progress, evaluation, saved state and resume, then write the adapter with
// the optimizer's state. A classifier trains on classification datasets, a segmentation model on
// segmentation datasets, with its task's defaults where the paper's code differs by task.

import Foundation
import SeededRandom
import Swap
import TensorFile
import Tensors
import ToolSupport
import ViT

struct SwapStage {
  var kind: StageKind
  var tool: String
  var modelPath: String
  var modelOverrides: ModelOverrides
  var adapterPath: String?
  /// The learn set (learning) or the forget set (forgetting).
  var stagePath: String
  var retainPaths: [String]
  var options: TrainingOptions
  /// nil: the paper's value for the model's task (`LossWeights.paper`).
  var beta: Float?
  var bound: Float?
  var trainHead: Bool
  var seed: UInt64
  var output: OutputOptions
  var quiet: Bool

  func run() throws {
    guard !retainPaths.isEmpty else { throw ToolError(.option, "at least one --retain dataset is needed") }
    // A resumed run may replace the output it started.
    let inputs = [modelPath, stagePath] + retainPaths + (adapterPath.map { [$0] } ?? [])
    let outputPath = try output.resolvedPath(inputs: inputs, existingAllowed: options.resume)
    if options.resume && outputPath == "-" {
      throw ToolError(.option, "--resume needs -o FILE (the state is kept beside it)")
    }
    let statePath = outputPath + ".state"
    if let gradLog = options.gradLog {
      guard gradLog != "-", gradLog != outputPath else {
        throw ToolError(.option, "--grad-log needs a file of its own")
      }
      try checkOutputPath(gradLog, force: output.force, inputs: inputs)
    }
    let progress = ProgressReporter(tool: tool, quiet: quiet)

    // Inputs, all checked before any training.
    let evalPaths = options.evalSets.map(namedPath)
    for path in [stagePath] + retainPaths + evalPaths.map(\.path) { try InputPath.check(path) }
    let base = try BaseModel(path: modelPath, overrides: modelOverrides)
    let task = base.config.task
    let adapted = try AdaptedModel(
      base: base, adapters: try adapterPath.map { [try AdaptedModel.readAdapter($0)] } ?? [])
    // The official head layout: slots for new classes before the learn set's classes are placed.
    adapted.reserveHeadSlots(options.headSlots ?? 0, seed: seed)
    let data = try StageData(
      kind: kind, base: base, classes: adapted.classes, stagePath: stagePath,
      retainPaths: retainPaths, evalSets: evalPaths)
    let rank = adapted.adapterLoRA?.rank ?? options.rank
    let loraAlpha = adapted.adapterLoRA?.alpha.map(Float.init) ?? options.loraAlpha
    let network = adapted.prepareStage(
      classes: data.classes, rank: rank, alpha: loraAlpha, trainHead: trainHead, seed: seed)
    let settings = options.stageSettings(kind, task: task, beta: beta, bound: bound)
    if !data.keptClasses.isEmpty {
      progress.message(
        "forgetting \(data.forgottenClasses.joined(separator: ", ")); the forget set's pixels of "
          + "\(data.keptClasses.joined(separator: ", ")), which a retain set holds too, count in no term")
    }
    let trainer = StageTrainer(
      network: network, settings: settings, stageSet: data.stageSet, retainSet: data.retainSet, seed: seed,
      optimizer: try startingOptimizer(adapted, network: network, settings: settings, task: task, progress: progress))
    let invocation = describeRun(base: base, classes: data.classes, settings: settings)
    if options.resume {
      try TrainingStateFile.restore(from: statePath, into: trainer, invocation: invocation)
      progress.message("resuming \(statePath) after epoch \(trainer.state.epoch) of \(settings.epochs)")
    }

    // Training.
    let stageName = kind == .learn ? "learn" : "forget"
    let names = network.trainable.map(\.name)
    var gradientLog = options.gradLog.map { _ in GradientLog(names: names) }
    var gradientLines = [
      GradientLog.header(stage: kind, names: names, stepsPerEpoch: trainer.stepsPerEpoch, epochs: settings.epochs)
    ]
    while !trainer.finished {
      let report = trainer.runEpoch { step in
        if var log = gradientLog {
          log.record(network.trainable)
          gradientLines.append(log.line(epoch: step.epoch))
          gradientLog = log
        }
        progress.update(
          ProgressEvent(
            stage: stageName, epoch: step.epoch, epochs: step.epochs, step: step.step, steps: step.steps,
            values: lossValues(step.terms) + [("img/s", step.imagesPerSecond.rounded())]))
      }
      var values = lossValues(report.mean) + [("lr", Double(report.rate))]
      for (name, set) in data.evalSets {
        let label = set.task == .segmentation ? "\(name)_mIoU%" : "\(name)%"
        values.append((label, headlineScore(network, on: set, classes: data.classes.count)))
      }
      progress.endEpoch(
        ProgressEvent(
          stage: stageName, epoch: report.epoch, epochs: report.epochs,
          step: trainer.stepsPerEpoch, steps: trainer.stepsPerEpoch, values: values))
      if outputPath != "-" && !trainer.finished {
        try TrainingStateFile.save(trainer, invocation: invocation, to: statePath)
      }
    }
    progress.finish()
    if let gradLog = options.gradLog {
      let file = try OutputFile(path: gradLog)
      do {
        try file.write(Array(gradientLines.joined(separator: "\n").utf8) + [0x0A])
        try file.commit()
      } catch {
        file.discard()
        throw error
      }
    }

    let adapter = try adapted.adapterContents(
      rank: rank, alpha: loraAlpha, includeHead: trainHead || adapted.headDiffersFromBase,
      optimizerState: trainer.state.optimizer.state.saved(parameters: network.trainable),
      training: trainingMetadata(settings: settings, task: task), file: outputPath)
    try TensorWriter.write(path: outputPath, metadata: adapter.metadata, tensors: adapter.tensors)
    if outputPath != "-" { try? FileManager.default.removeItem(atPath: statePath) }
  }

  /// The AdamW the stage starts with; nil for a fresh one. With --adapter a classifier's stage continues
  /// the adapter's state (moments and step count; the cosine schedule restarts), as the paper's
  /// classification code keeps one AdamW for both stages, and a segmentation model's starts a fresh one,
  /// as its segmentation code does; --fresh-optimizer and --continue-optimizer choose. An adapter
  /// without a state (from PEFT, an older kswap, or stripped by kswap-pack --exclude) gets a warning
  /// and a fresh one.
  func startingOptimizer(
    _ adapted: AdaptedModel, network: ViTNetwork, settings: StageSettings, task: DatasetLayout.Task,
    progress: ProgressReporter
  ) throws -> AdamW? {
    guard let adapterPath, !options.freshOptimizer(task: task) else { return nil }
    guard
      let (optimizer, absent) = try adapted.continuedOptimizer(
        parameters: network.trainable, weightDecay: settings.weightDecay)
    else {
      Console.current.diagnostic(
        "\(tool): warning: \(adapterPath) holds no optimizer state (an adapter from PEFT or an older kswap, or "
          + "stripped); the stage starts a fresh AdamW")
      return nil
    }
    if !absent.isEmpty {
      progress.message(
        "\(adapterPath) holds no optimizer state for \(absent.joined(separator: ", ")): their moments start at zero")
    }
    return optimizer
  }

  func lossValues(_ terms: LossTerms) -> [(String, Double)] {
    [
      (kind == .learn ? "ce_learn" : "ce_forget", Double(terms.stageCE)), ("ce_retain", Double(terms.retainCE)),
      ("group_sparse", Double(terms.groupSparse)), ("loss", Double(terms.total)),
    ]
  }

  /// Settings recorded in the adapter and compared on --resume.
  func trainingMetadata(settings: StageSettings, task: DatasetLayout.Task) -> [String: String] {
    [
      "stage": kind.rawValue, "task": task.rawValue, "epochs": String(settings.epochs),
      "batch_size": String(settings.batchSize),
      "lr": "\(settings.peakRate)", "min_lr": "\(settings.floorRate)", "weight_decay": "\(settings.weightDecay)",
      "beta": "\(settings.weights.beta)", "alpha": "\(settings.weights.alpha)", "dropout": "\(settings.dropout)",
      "beta_scales": kind == .learn ? settings.weights.learningBeta.rawValue : "forget",
      "bound": kind == .forget ? "\(settings.weights.bound)" : "", "seed": String(seed),
      "train_head": trainHead ? "true" : "false",
      "stage_set": stagePath, "retain_sets": SwapMetadata.array(retainPaths), "adapter": adapterPath ?? "",
      "fresh_optimizer": options.freshOptimizer(task: task) ? "true" : "false",
      "head_slots": options.headSlots.map(String.init) ?? "",
    ]
  }

  func describeRun(base: BaseModel, classes: [String?], settings: StageSettings) -> String {
    SwapMetadata.object(
      trainingMetadata(settings: settings, task: base.config.task).merging(
        [
          "base": base.fingerprint, "classes": SwapMetadata.classList(classes), "rank": String(options.rank),
          "lora_alpha": "\(options.loraAlpha)", "heads": String(base.config.heads),
          "normalisation": "\(base.mean) \(base.std)",
        ], uniquingKeysWith: { a, _ in a }))
  }
}
