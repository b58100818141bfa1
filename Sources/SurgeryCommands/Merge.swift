// kswap-merge: fold LoRA adapters into base weights (or take them out), streaming the base.

import ArgumentParser
import TensorFile
import ToolSupport
import WeightSurgery

public struct Merge: Tool {
  public static let configuration = CommandConfiguration(
    commandName: "kswap-merge",
    abstract: "Fold LoRA adapters into base weights, or take them out again.",
    discussion: """
      Writes BASE with every ADAPTER folded in: W' = W + weight * scale * (B A), computed in float32 \
      and rounded once to the output dtype; scale is lora_alpha/r (lora_alpha/sqrt(r) for rsLoRA), \
      with PEFT's rank_pattern and alpha_pattern. Full tensors in an adapter (modules_to_save, a \
      classifier head with new class rows) replace the base's.

      An ADAPTER is a kswap adapter file, a PEFT adapter directory, or adapter_model.safetensors \
      optionally followed by its adapter_config.json. The base streams through one tensor at a time \
      and may be '-' (a pipe). Adapters are checked against the base (names, shapes, ranks) before \
      anything is written, and against the base fingerprint they record while it streams; -f also \
      merges an adapter whose recorded fingerprint differs. Formats/adapter.md has the layout, \
      man kswap-merge the details.
      """,
    version: ToolVersion.text())

  @Argument(
    help: ArgumentHelp("The base model, then one or more adapters ('-' for stdin, once).", valueName: "base adapter"))
  var operands: [String]

  @Option(
    name: .customLong("weight"),
    help: ArgumentHelp(
      "Factor for the next adapter's update, once per adapter in order (negative: --weight=-1). Default: 1 each.",
      valueName: "w"))
  var weights: [Double] = []

  @Option(
    help: ArgumentHelp(
      "Store every float tensor as F32, F16, BF16 or F64. Default: the base's dtype of each tensor.", valueName: "type")
  )
  var dtype: String?

  @Flag(help: "Subtract the adapters' updates instead of adding them (recover the base). Default: add.")
  var unmerge = false

  @OptionGroup var output: OutputOptions
  @OptionGroup var quietOption: QuietOption

  public init() {}

  public func validate() throws {
    guard operands.count >= 2 else { throw ValidationError("give the base model and at least one adapter") }
    guard operands.filter({ $0 == "-" }).count <= 1 else { throw ValidationError("'-' (stdin) can be given only once") }
    guard !Self.isConfig(operands[1]) else {
      throw ValidationError("an adapter_config.json must follow its adapter_model.safetensors")
    }
    if let dtype, DType(name: dtype.uppercased()).map(\.isConvertibleFloat) != true {
      throw ValidationError("--dtype must be F32, F16, BF16 or F64, not '\(dtype)'")
    }
    guard weights.allSatisfy(\.isFinite) else { throw ValidationError("--weight must be a finite number") }
  }

  /// A JSON operand after the base is an adapter_config.json (a sharded checkpoint's *.index.json
  /// is a tensor file).
  static func isConfig(_ operand: String) -> Bool { operand.hasSuffix(".json") && !operand.hasSuffix(".index.json") }

  /// The adapter operands, each with the adapter_config.json that follows it, if any.
  var adapterOperands: [(path: String, config: String?)] {
    var list: [(path: String, config: String?)] = []
    for operand in operands.dropFirst() {
      if Self.isConfig(operand), let last = list.last, last.config == nil {
        list[list.count - 1].config = operand
      } else {
        list.append((operand, nil))
      }
    }
    return list
  }

  public func run() throws {
    let console = Console.current
    for operand in operands { try InputPath.check(operand) }
    let adapterList = adapterOperands
    if !weights.isEmpty, weights.count != adapterList.count {
      throw ValidationError(
        "\(weights.count) --weight values for \(adapterList.count) adapters; give one per adapter or none")
    }
    let path = try output.resolvedPath(inputs: operands)  // before anything is read
    // Adapters first: they are small, and a base on stdin must be read last, in one pass.
    let adapters = try adapterList.map { try AdapterFile.load(path: $0.path, configPath: $0.config) }
    let base = try TensorReader(path: operands[0])
    let merge = try StreamingMerge(
      base: base, adapters: adapters,
      options: MergeOptions(
        weights: weights, dtype: dtype.flatMap { DType(name: $0.uppercased()) }, unmerge: unmerge,
        ignoreFingerprint: output.force))

    let writer = try TensorWriter(
      path: path, metadata: merge.outputMetadata, tensors: merge.outputTensors,
      order: base.isSeekable ? .aligned : .asGiven)
    // A live "tensor i/n" line on a terminal only: a merge has no epochs to log.
    let progress = ProgressReporter(tool: Self.toolName, quiet: quietOption.quiet)
    defer { progress.finish() }
    do {
      try merge.run(into: writer) { done, total in
        progress.update(ProgressEvent(stage: unmerge ? "unmerge" : "merge", step: done, steps: total))
      }
      try writer.finish()
    } catch {
      writer.abort()
      throw error
    }
    if !quietOption.quiet {
      for note in merge.notes { console.diagnostic("\(Self.toolName): note: \(note)") }
    }
  }
}
