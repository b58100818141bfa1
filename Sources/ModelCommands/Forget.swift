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
      set too) or starts a fresh adapter.
      """,
    version: versionText)

  @OptionGroup var inputs: StageInputs

  @Option(help: ArgumentHelp("The dataset of classes to forget (required).", valueName: "path"))
  var forget: String

  @Option(help: ArgumentHelp("Weight of the bounded forgetting term.", valueName: "b"))
  var beta: Float = 0.2

  @Option(help: ArgumentHelp("The forget cross-entropy above which forgetting stops (BND).", valueName: "bnd"))
  var bound: Float = 105

  @OptionGroup var training: TrainingOptions
  @OptionGroup var output: OutputOptions
  @OptionGroup var seed: SeedOption
  @OptionGroup var quiet: QuietOption

  public init() {}

  public func validate() throws {
    guard beta >= 0, beta.isFinite else { throw ValidationError("--beta must be finite and not negative") }
    guard bound > 0, bound.isFinite else { throw ValidationError("--bound must be positive") }
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
