// What kswap-learn and kswap-forget share: check every input before training, build the model (base,
// adapter, new head rows, LoRA), run the stage epoch by epoch with progress, evaluation, saved state
// and resume, then write the adapter.

import Foundation
import Swap
import TensorFile
import Tensors
import ToolSupport
import ViT
import SeededRandom

struct SwapStage {
  var kind: StageKind
  var tool: String
  var modelPath: String
  var adapterPath: String?
  /// The learn set (learning) or the forget set (forgetting).
  var stagePath: String
  var retainPaths: [String]
  var options: TrainingOptions
  var beta: Float
  var bound: Float
  var trainHead: Bool
  var seed: UInt64
  var output: OutputOptions
  var quiet: Bool

  func run() throws {
    guard !retainPaths.isEmpty else { throw ToolError("at least one --retain dataset is needed") }
    // A resumed run may replace the output it started.
    let inputs = [modelPath, stagePath] + retainPaths + (adapterPath.map { [$0] } ?? [])
    let outputPath = try output.resolvedPath(inputs: inputs, existingAllowed: options.resume)
    if options.resume && outputPath == "-" { throw ToolError("--resume needs -o FILE (the state is kept beside it)") }
    let statePath = outputPath + ".state"
    let progress = ProgressReporter(tool: tool, quiet: quiet)

    // Inputs, all checked before any training.
    let base = try BaseModel(path: modelPath)
    let model = try base.makeModel()
    var classes = base.classes
    var rank = options.rank
    var loraAlpha = options.loraAlpha
    var adapterHasHead = false
    if let adapterPath {
      let adapter = try SwapAdapter(path: adapterPath)
      try adapter.check(against: base)
      classes = try adapter.apply(to: model, classes: classes)
      adapterHasHead = adapter.head != nil
      if let first = adapter.lora.values.first {
        rank = adapter.settings.rank ?? first.a.shape[0]
        loraAlpha = Float(adapter.settings.alpha ?? Double(loraAlpha))
      }
    }
    var classMap = ClassMap(names: classes)
    let stageFile = try base.loadDataset(stagePath)
    let stageRows: [Int]
    switch kind {
    case .learn: stageRows = try classMap.appendNew(presentClasses(stageFile), file: stagePath)
    case .forget: stageRows = try classMap.knownRows(for: presentClasses(stageFile), file: stagePath)
    }
    let stageSet = try relabel(stageFile, rows: stageRows)
    var retainParts: [LabeledImages] = []
    for path in retainPaths {
      let file = try base.loadDataset(path)
      retainParts.append(try relabel(file, rows: try classMap.knownRows(for: presentClasses(file), file: path)))
    }
    let retainSet = LabeledImages.joined(retainParts)
    if kind == .forget {
      let forgotten = Set(stageSet.labels), kept = Set(retainSet.labels)
      if let both = forgotten.intersection(kept).min() {
        throw SwapInputError("class '\(classMap.names[both])' is in both the forget set \(stagePath) and a retain set")
      }
    }
    var evalSets: [(name: String, set: LabeledImages)] = []
    for spec in options.evalSets {
      let (name, path) = namedPath(spec)
      let file = try base.loadDataset(path)
      evalSets.append((name, try relabel(file, rows: try classMap.knownRows(for: presentClasses(file), file: path))))
    }

    // The network: new head rows, LoRA, what trains.
    let newClasses = classMap.names.count - classes.count
    var headGenerator = SeededGenerator(seed: seed).derived("new head rows")
    model.appendHeadRows(newClasses, generator: &headGenerator)
    if !model.blocks.contains(where: { $0.fc1.lora != nil || $0.fc2.lora != nil }) {
      var generator = SeededGenerator(seed: seed).derived("lora init")
      model.addLoRA(LoRAConfig(rank: rank, alpha: loraAlpha, initialization: .paper), generator: &generator)
    }
    let network = ViTNetwork(model: model)
    network.setTrainable(trainHead ? .loraAnd(["head"]) : .lora)
    let settings = options.stageSettings(kind, beta: beta, bound: bound)
    let trainer = StageTrainer(network: network, settings: settings, stageSet: stageSet, retainSet: retainSet, seed: seed)
    let invocation = describeRun(base: base, classes: classMap.names, settings: settings)
    if options.resume {
      try TrainingStateFile.restore(from: statePath, into: trainer, invocation: invocation)
      progress.message("resuming \(statePath) after epoch \(trainer.state.epoch) of \(settings.epochs)")
    }

    // Training.
    let stageName = kind == .learn ? "learn" : "forget"
    while !trainer.finished {
      let report = trainer.runEpoch { step in
        progress.update(ProgressEvent(
          stage: stageName, epoch: step.epoch, epochs: step.epochs, step: step.step, steps: step.steps,
          values: lossValues(step.terms) + [("img/s", step.imagesPerSecond.rounded())]))
      }
      var values = lossValues(report.mean) + [("lr", Double(report.rate))]
      for (name, set) in evalSets { values.append(("\(name)%", evaluate(network, on: set).percent)) }
      progress.endEpoch(ProgressEvent(stage: stageName, epoch: report.epoch, epochs: report.epochs,
                                      step: trainer.stepsPerEpoch, steps: trainer.stepsPerEpoch, values: values))
      if outputPath != "-" && !trainer.finished {
        try TrainingStateFile.save(trainer, invocation: invocation, to: statePath)
      }
    }
    progress.finish()

    try writeAdapter(model: model, path: outputPath, rank: rank, alpha: loraAlpha,
                     includeHead: newClasses > 0 || trainHead || adapterHasHead, classes: classMap.names, base: base,
                     training: trainingMetadata(settings: settings))
    if outputPath != "-" { try? FileManager.default.removeItem(atPath: statePath) }
  }

  func lossValues(_ terms: LossTerms) -> [(String, Double)] {
    [(kind == .learn ? "ce_learn" : "ce_forget", Double(terms.stageCE)), ("ce_retain", Double(terms.retainCE)),
     ("group_sparse", Double(terms.groupSparse)), ("loss", Double(terms.total))]
  }

  /// Settings recorded in the adapter and compared on --resume.
  func trainingMetadata(settings: StageSettings) -> [String: String] {
    ["stage": kind.rawValue, "epochs": String(settings.epochs), "batch_size": String(settings.batchSize),
     "lr": "\(settings.peakRate)", "min_lr": "\(settings.floorRate)", "weight_decay": "\(settings.weightDecay)",
     "beta": "\(settings.weights.beta)", "alpha": "\(settings.weights.alpha)",
     "bound": kind == .forget ? "\(settings.weights.bound)" : "", "seed": String(seed),
     "train_head": trainHead ? "true" : "false",
     "stage_set": stagePath, "retain_sets": jsonArray(retainPaths), "adapter": adapterPath ?? ""]
  }

  func describeRun(base: BaseModel, classes: [String], settings: StageSettings) -> String {
    jsonObject(trainingMetadata(settings: settings).merging(
      ["base": base.fingerprint, "classes": jsonArray(classes), "rank": String(options.rank),
       "lora_alpha": "\(options.loraAlpha)"], uniquingKeysWith: { a, _ in a }))
  }
}

/// Names of the classes that have images in the file, in label order, and the file's label of each.
func presentClasses(_ file: DatasetFile) -> [String] {
  file.presentLabels.map { file.classes[$0] }
}

/// The file's images with labels moved to model rows; `rows` follows `presentClasses(file)`.
func relabel(_ file: DatasetFile, rows: [Int]) throws -> LabeledImages {
  var table = [Int](repeating: -1, count: file.classes.count)
  for (label, row) in zip(file.presentLabels, rows) { table[label] = row }
  return try file.images.relabeled(table, file: file.path)
}
