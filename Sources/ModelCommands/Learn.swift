// kswap-learn: the learning stage of knowledge swapping (Man/kswap-learn.1).

import ArgumentParser
import Swap
import ToolSupport

public struct Learn: ModelTool {
  public static let configuration = CommandConfiguration(
    commandName: "kswap-learn",
    abstract: "Teach a ViT new classes with a LoRA adapter while replaying a retain set.",
    discussion: """
      Trains LoRA on every block's mlp.fc1 and mlp.fc2 with L = CE(learn) + beta * CE(retain) + alpha * \
      group-sparse, appending the learn set's classes as new (frozen) head rows. Writes a PEFT-layout adapter.
      """,
    version: versionText)

  @Argument(help: ArgumentHelp("The base model (a kswap ViT tensor file).", valueName: "model"))
  var model: String

  @Option(help: ArgumentHelp("Continue this adapter instead of starting a fresh one. Default: a fresh one.",
                             valueName: "path"))
  var adapter: String?

  @Option(help: ArgumentHelp("The dataset of new classes (required).", valueName: "path"))
  var learn: String

  @Option(help: ArgumentHelp("A dataset of classes to keep; repeat for several (at least one).", valueName: "path"))
  var retain: [String] = []

  @Option(help: ArgumentHelp("Weight of the retain cross-entropy.", valueName: "b"))
  var beta: Float = 0.2

  @Flag(name: .customLong("train-head"), help: "Also train the classifier head. Default: frozen.")
  var trainHead = false

  @OptionGroup var training: TrainingOptions
  @OptionGroup var output: OutputOptions
  @OptionGroup var seed: SeedOption
  @OptionGroup var quiet: QuietOption

  public init() {}

  public func validate() throws {
    guard !retain.isEmpty else { throw ValidationError("at least one --retain dataset is needed") }
    guard beta >= 0, beta.isFinite else { throw ValidationError("--beta must be finite and not negative") }
  }

  public func run() throws {
    try SwapStage(kind: .learn, tool: Self.toolName, modelPath: model, adapterPath: adapter, stagePath: learn,
                  retainPaths: retain, options: training, beta: beta, bound: 0, trainHead: trainHead,
                  seed: seed.seed, output: output, quiet: quiet.quiet).run()
  }
}
