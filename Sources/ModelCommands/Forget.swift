// kswap-forget: the forgetting stage of knowledge swapping (Man/kswap-forget.1).

import ArgumentParser
import Swap
import ToolSupport

public struct Forget: ModelTool {
  public static let configuration = CommandConfiguration(
    commandName: "kswap-forget",
    abstract: "Make a ViT forget classes with a LoRA adapter while replaying a retain set.",
    discussion: """
      Trains LoRA on every block's mlp.fc1 and mlp.fc2 with L = CE(retain) + beta * relu(BND - CE(forget)) + \
      alpha * group-sparse. Continues --adapter (learning before forgetting: pass the learn set as a --retain \
      set too) or starts a fresh adapter. A segmentation model forgets with per-pixel cross-entropy, BND 115, \
      alpha 0.01 and a fresh AdamW when continuing an adapter (the paper's segmentation recipe); its forget \
      set's classes that a retain set holds too (the background) are kept.
      """,
    version: versionText)

  @OptionGroup var inputs: StageInputs

  @Option(help: ArgumentHelp("The dataset of classes to forget (required).", valueName: "path"))
  var forget: String

  @Option(help: ArgumentHelp("Weight of the bounded forgetting term. Default: 0.2.", valueName: "b"))
  var beta: Float?

  @Option(
    help: ArgumentHelp(
      "The forget loss above which forgetting stops (BND). Default: 105 for a classifier, 115 for a segmentation model.",
      valueName: "bnd"))
  var bound: Float?

  @OptionGroup var training: TrainingOptions
  @OptionGroup var output: OutputOptions
  @OptionGroup var seed: SeedOption
  @OptionGroup var quiet: QuietOption

  public init() {}

  public func validate() throws {
    guard (beta ?? 0) >= 0, (beta ?? 0).isFinite else {
      throw ValidationError("--beta must be finite and not negative")
    }
    guard (bound ?? 1) > 0, (bound ?? 1).isFinite else { throw ValidationError("--bound must be positive") }
    try training.validate(with: inputs)
  }

  public func run() throws {
    try SwapStage(
      kind: .forget, tool: Self.toolName, modelPath: inputs.model,
      modelOverrides: try inputs.modelOptions.overrides(), adapterPath: inputs.adapter, stagePath: forget,
      retainPaths: inputs.retain, options: training, beta: beta, bound: bound, trainHead: false,
      seed: seed.seed, output: output, quiet: quiet.quiet
    ).run()
  }
}
