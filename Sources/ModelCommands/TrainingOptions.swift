// The options kswap-learn and kswap-forget share: their inputs, and the paper's defaults, each overridable.
// Where the paper's code differs by task (the loss weights, whether a stage continues the optimizer),
// an option's default depends on the model's task and is resolved once the model is read.

import ArgumentParser
import Swap
import TensorFile
import ToolSupport

struct TrainingOptions: ParsableArguments {
  @Option(help: ArgumentHelp("Epochs of the stage.", valueName: "n"))
  var epochs = 5

  @Option(name: .customLong("batch-size"), help: ArgumentHelp("Images per batch from each stream.", valueName: "n"))
  var batchSize = 80

  @Option(help: ArgumentHelp("Peak learning rate of AdamW (per-epoch cosine from here).", valueName: "rate"))
  var lr: Float = 1e-2

  @Option(
    name: .customLong("min-lr"), help: ArgumentHelp("Learning rate the cosine decays towards.", valueName: "rate"))
  var minLR: Float = 1e-5

  @Option(
    name: .customLong("weight-decay"), help: ArgumentHelp("AdamW's decoupled weight decay on matrices.", valueName: "w")
  )
  var weightDecay: Float = 0.05

  @Option(
    help: ArgumentHelp(
      "Weight of the group-sparse regulariser. Default: 0.005 for a classifier, 0.01 for a segmentation model.",
      valueName: "a"))
  var alpha: Float?

  @Option(
    help: ArgumentHelp(
      "Dropout probability in training, where the official ViT drops (embeddings, after GELU, after fc2); 0: none.",
      valueName: "p"))
  var dropout: Float = 0.1

  @Option(help: ArgumentHelp("LoRA rank of a fresh adapter.", valueName: "r"))
  var rank = 8

  @Option(
    name: .customLong("lora-alpha"),
    help: ArgumentHelp("LoRA alpha of a fresh adapter; updates are scaled by alpha / rank.", valueName: "a"))
  var loraAlpha: Float = 1

  @Option(
    name: .customLong("eval"),
    help: ArgumentHelp(
      "Report top-1 accuracy on this dataset after every epoch (repeatable). Default: none.",
      valueName: "name=path"))
  var evalSets: [String] = []

  @Flag(help: "Continue an interrupted run from OUTPUT.state (saved after every epoch). Default: start afresh.")
  var resume = false

  @Option(
    name: .customLong("grad-log"),
    help: ArgumentHelp(
      "Write every trainable tensor's running average gradient, a line per step, to this file (JSON lines, Formats/grad-log.md). Default: none.",
      valueName: "path"))
  var gradLog: String?

  @Option(
    name: .customLong("head-slots"),
    help: ArgumentHelp(
      "With a fresh adapter, reserve N head rows for new classes as the official code does (one frozen "
        + "Xavier block; unused rows stay in every softmax and argmax). Default: a row per new class, no more.",
      valueName: "n"))
  var headSlots: Int?

  /// How a stage that continues an adapter starts its AdamW.
  enum OptimizerStart: String, EnumerableFlag {
    case freshOptimizer, continueOptimizer

    static func help(for value: OptimizerStart) -> ArgumentHelp? {
      switch value {
      case .freshOptimizer:
        return "With --adapter, start a new AdamW (zero moments, step 0). Default for a segmentation model."
      case .continueOptimizer:
        return "With --adapter, continue the adapter's AdamW (its moments and step). Default for a classifier."
      }
    }
  }

  @Flag var optimizerStart: OptimizerStart?

  func validate() throws {
    guard epochs > 0 else { throw ValidationError("--epochs must be at least 1") }
    guard batchSize > 0 else { throw ValidationError("--batch-size must be at least 1") }
    guard lr > 0, lr.isFinite, minLR >= 0, minLR <= lr else {
      throw ValidationError("--lr must be positive and --min-lr between 0 and --lr")
    }
    guard weightDecay >= 0, weightDecay.isFinite, (alpha ?? 0) >= 0, (alpha ?? 0).isFinite else {
      throw ValidationError("--weight-decay and --alpha must be finite and not negative")
    }
    guard dropout >= 0, dropout < 1 else { throw ValidationError("--dropout must be at least 0 and below 1") }
    guard rank > 0 else { throw ValidationError("--rank must be at least 1") }
    guard loraAlpha > 0, loraAlpha.isFinite else { throw ValidationError("--lora-alpha must be positive") }
    for spec in evalSets where spec.isEmpty { throw ValidationError("--eval needs a dataset path") }
    if gradLog != nil && resume {
      throw ValidationError("--grad-log averages from a stage's first step; it cannot be combined with --resume")
    }
    if let headSlots, headSlots < 1 { throw ValidationError("--head-slots must be at least 1") }
  }

  /// The checks that need the stage's inputs too.
  func validate(with inputs: StageInputs) throws {
    if headSlots != nil, let adapter = inputs.adapter {
      throw ValidationError("--head-slots lays out a fresh adapter's head; --adapter \(adapter) brings its own")
    }
  }

  /// The stage's settings for a model of `task`: the flags given, the paper's values for that task
  /// (`LossWeights.paper`) for `--beta`, `--alpha` and `--bound` when not.
  func stageSettings(_ kind: StageKind, task: DatasetLayout.Task, beta: Float?, bound: Float?) -> StageSettings {
    var settings = StageSettings(kind: kind)
    settings.epochs = epochs
    settings.batchSize = batchSize
    settings.peakRate = lr
    settings.floorRate = minLR
    settings.weightDecay = weightDecay
    settings.weights = LossWeights.paper(task, kind)
    if let beta { settings.weights.beta = beta }
    if let alpha { settings.weights.alpha = alpha }
    if let bound { settings.weights.bound = bound }
    settings.dropout = dropout
    return settings
  }

  /// Whether a stage that continues an adapter starts a fresh AdamW: as the flags say, else as the
  /// paper's code for `task` does (classification keeps one AdamW for both stages, segmentation builds a
  /// new trainer, and so a new optimizer, per stage).
  func freshOptimizer(task: DatasetLayout.Task) -> Bool {
    optimizerStart.map { $0 == .freshOptimizer } ?? (task == .segmentation)
  }
}

/// The inputs kswap-learn and kswap-forget share: the base model, the adapter to continue, the retain sets.
struct StageInputs: ParsableArguments {
  @Argument(help: ArgumentHelp(modelArgumentHelp, valueName: "model"))
  var model: String

  @OptionGroup var modelOptions: ModelOptions

  @Option(
    help: ArgumentHelp(
      "Continue this adapter instead of starting a fresh one. Default: a fresh one.",
      valueName: "path"))
  var adapter: String?

  @Option(help: ArgumentHelp("A dataset of classes to keep; repeat for several (at least one).", valueName: "path"))
  var retain: [String] = []

  func validate() throws {
    guard !retain.isEmpty else { throw ValidationError("at least one --retain dataset is needed") }
  }
}

/// `NAME=PATH` or a bare `PATH` (named after its file, without the extension).
func namedPath(_ spec: String) -> (name: String, path: String) {
  if let equals = spec.firstIndex(of: "="), equals != spec.startIndex {
    return (String(spec[..<equals]), String(spec[spec.index(after: equals)...]))
  }
  let file = spec.split(separator: "/").last.map(String.init) ?? spec
  let stem = file.split(separator: ".").first.map(String.init) ?? file
  return (stem, spec)
}
