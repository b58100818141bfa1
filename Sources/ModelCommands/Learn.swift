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
      group-sparse, appending the learn set's classes as new (frozen) head rows. Writes a PEFT-layout adapter. \
      A segmentation model learns from segmentation datasets with the paper's segmentation recipe: per-pixel \
      cross-entropy, L = beta * CE(learn) + CE(retain) + alpha * group-sparse, beta 0.9, alpha 0.01, and a \
      fresh AdamW when continuing an adapter.
      """,
    version: versionText)

  @OptionGroup var inputs: StageInputs

  @Option(help: ArgumentHelp("The dataset of new classes (required).", valueName: "path"))
  var learn: String

  @Option(
    help: ArgumentHelp(
      "Weight of the retain loss (a classifier: default 0.2), or of the learn loss (a segmentation model: default 0.9), as in the paper's code.",
      valueName: "b"))
  var beta: Float?

  @Flag(name: .customLong("train-head"), help: "Also train the classifier head. Default: frozen.")
  var trainHead = false

  @OptionGroup var training: TrainingOptions
  @OptionGroup var output: OutputOptions
  @OptionGroup var seed: SeedOption
  @OptionGroup var quiet: QuietOption

  public init() {}

  public func validate() throws {
    guard (beta ?? 0) >= 0, (beta ?? 0).isFinite else {
      throw ValidationError("--beta must be finite and not negative")
    }
    try training.validate(with: inputs)
  }

  public func run() throws {
    try SwapStage(
      kind: .learn, tool: Self.toolName, modelPath: inputs.model,
      modelOverrides: try inputs.modelOptions.overrides(), adapterPath: inputs.adapter, stagePath: learn,
      retainPaths: inputs.retain, options: training, beta: beta, bound: nil, trainHead: trainHead,
      seed: seed.seed, output: output, quiet: quiet.quiet
    ).run()
  }
}
