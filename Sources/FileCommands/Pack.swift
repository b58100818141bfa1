// kswap-pack: rewrite a weight file: plain <-> compressed, dtypes, selection, names, metadata, shards.

import ArgumentParser
import Glibc
import Importers
import TensorFile
import ToolSupport

/// `kswap-pack IN|- [-o OUT|-]`: streams a weight file, a tensor at a time, into a new one.
public struct Pack: Tool {
  public static let configuration = CommandConfiguration(
    commandName: "kswap-pack",
    abstract: "Convert, compress, select, rename and re-tag weight files; import data and datasets.",
    discussion: """
      Reads plain safetensors, .kst or a sharded checkpoint's index.json (joining its shards), or \
      imports IDX, CSV, numpy, image folders and PyTorch checkpoints (see IMPORTING AND DATASETS), \
      and writes one file, plain or compressed, a tensor at a time. Without --compress or --plain \
      the output keeps the input's form. The output file is written beside its destination and \
      renamed into place when complete. With --peft-dir DIR an adapter becomes a PEFT adapter \
      directory instead, and with --coco-dir DIR a detection dataset a COCO directory. Exit status: 0 success, 2 bad input or failure, 64 usage error.
      """,
    version: ToolVersion.text())

  @Argument(
    help: ArgumentHelp(
      "The input: safetensors, .kst, a sharded checkpoint's *.index.json, a file to import, or '-' for stdin.",
      valueName: "input"))
  public var input: String

  @OptionGroup public var output: OutputOptions

  @Flag(help: "Write the compressed .kst format (byte planes + zstd). Default: the input's form.")
  public var compress = false

  @Flag(help: "Write plain safetensors. Default: the input's form.")
  public var plain = false

  @Option(help: ArgumentHelp("zstd compression level, 1 (fastest) to 22 (smallest). Default: 3.", valueName: "n"))
  public var level: Int?

  @Option(
    help: ArgumentHelp(
      "Convert floating-point tensors to F32, F16 or BF16 (round to nearest even). Default: keep dtypes.",
      valueName: "dtype"))
  public var dtype: String?

  @Flag(help: "With --dtype, convert integer and BOOL tensors too; refused if a value would change, unless --lossy.")
  public var convertIntegers = false

  @Flag(help: "With --dtype, accept values that change: rounded integers, finite floats that overflow to infinity.")
  public var lossy = false

  @Option(
    help: ArgumentHelp(
      "Keep only tensors whose name matches this shell pattern; repeatable. Default: all.", valueName: "glob"))
  public var select: [String] = []

  @Option(help: ArgumentHelp("Drop tensors whose name matches this shell pattern; repeatable.", valueName: "glob"))
  public var exclude: [String] = []

  @Option(
    help: ArgumentHelp(
      "Rename tensors: replace matches of the regular expression FROM with TO ($1 for groups); repeatable, applied in order.",
      valueName: "from=to"))
  public var rename: [String] = []

  @Option(help: ArgumentHelp("Set metadata key K to V in __metadata__; repeatable.", valueName: "k=v"))
  public var setMeta: [String] = []

  @Option(help: ArgumentHelp("Remove metadata key K from __metadata__; repeatable.", valueName: "k"))
  public var dropMeta: [String] = []

  @Option(
    name: .customLong("peft-dir"),
    help: ArgumentHelp(
      "Write the input adapter as a PEFT adapter directory (adapter_model.safetensors, adapter_config.json) that PeftModel.from_pretrained loads; instead of -o. An existing directory is replaced only with -f.",
      valueName: "dir"))
  public var peftDirectory: String?

  @Option(
    name: .customLong("coco-dir"),
    help: ArgumentHelp(
      "Write the input detection dataset as a COCO directory (instances.json and one PNG per image, NNNNNN.png) that pycocotools reads; instead of -o. An existing directory is replaced only with -f.",
      valueName: "dir"))
  public var cocoDirectory: String?

  @OptionGroup public var quiet: QuietOption

  @OptionGroup(title: "Importing and datasets") public var importing: ImportOptions

  public init() {}

  public func validate() throws {
    if compress && plain { throw ValidationError("--compress and --plain contradict each other; give one") }
    if let level {
      if plain { throw ValidationError("--level applies to compressed output; drop it or --plain") }
      if !(1...22).contains(level) { throw ValidationError("--level must be between 1 and 22, got \(level)") }
    }
    if let dtype, targetType(dtype) == nil {
      throw ValidationError("--dtype must be F32, F16 or BF16, got '\(dtype)'")
    }
    if dtype == nil && (convertIntegers || lossy) {
      throw ValidationError("--convert-integers and --lossy only apply with --dtype")
    }
    if peftDirectory != nil, cocoDirectory != nil {
      throw ValidationError("--peft-dir and --coco-dir write different inputs; give one")
    }
    if peftDirectory != nil, let option = optionsBesideDirectoryExport.first {
      throw ValidationError("--peft-dir writes the adapter as it is; \(option) does not apply to it")
    }
    if cocoDirectory != nil, let option = optionsBesideDirectoryExport.first {
      throw ValidationError("--coco-dir writes the dataset as it is; \(option) does not apply to it")
    }
    _ = try renameRules()
    _ = try metadataAssignments()
  }

  public func run() throws {
    if let peftDirectory { return try exportPEFT(to: peftDirectory) }
    if let cocoDirectory { return try exportCOCO(to: cocoDirectory) }
    let path = try output.resolvedPath(inputs: [input])  // before an import decodes anything
    let source = try openInput()
    let plan = try PackPlan(
      source: source, file: input, select: select.map(Glob.init), exclude: exclude.map(Glob.init),
      rename: try renameRules(), dtype: dtype.flatMap(targetType), convertIntegers: convertIntegers,
      dropMeta: dropMeta, setMeta: try metadataAssignments())
    let writer = try TensorWriter(
      path: path, format: outputFormat(source), metadata: plan.metadata, tensors: plan.tensors.map(\.output))
    do {
      try copy(plan, from: source, to: writer)
      try writer.finish()
    } catch {
      writer.abort()
      throw error
    }
    if path != "-" { report(plan, path: path) }
  }

  /// Opens what `input` names. Importers for other formats hook in here.
  func openInput() throws -> PackSource {
    if let imported = try importing.open(input) { return imported }
    try InputPath.check(input)
    return try TensorReader(path: input)
  }

  /// Writes the planned tensors in the writer's order: by random access when the source allows it,
  /// else in one pass over the stream, spooled to a temporary file first if the orders differ.
  private func copy(_ plan: PackPlan, from source: PackSource, to writer: TensorWriter) throws {
    let progress = ProgressReporter(tool: Self.toolName, quiet: quiet.quiet)
    defer { progress.finish() }
    var byOutputName: [String: PlannedTensor] = [:]
    var bySourceName: [String: PlannedTensor] = [:]
    for tensor in plan.tensors {
      byOutputName[tensor.output.name] = tensor
      bySourceName[tensor.source.name] = tensor
    }
    var done = 0
    func write(_ tensor: PlannedTensor, _ bytes: [UInt8]) throws {
      try writer.write(tensor.output.name, bytes: try convert(bytes, tensor))
      done += 1
      progress.update(ProgressEvent(stage: "pack", step: done, steps: plan.tensors.count))
    }
    let streamOrder = plan.tensors.map(\.output.name)
    if source.isSeekable {
      for info in writer.tensors {
        guard let tensor = byOutputName[info.name] else { continue }
        try write(tensor, try source.bytes(of: tensor.source.name))
      }
    } else if writer.tensors.map(\.name) == streamOrder {
      try source.forEachTensor { info, bytes in
        if let tensor = bySourceName[info.name] { try write(tensor, bytes) }
      }
    } else {
      let spool = try Spool(plan, from: source)
      for info in writer.tensors {
        guard let tensor = byOutputName[info.name] else { continue }
        try write(tensor, try spool.reader.bytes(of: tensor.source.name))
      }
    }
  }

  private func convert(_ bytes: [UInt8], _ tensor: PlannedTensor) throws -> [UInt8] {
    guard tensor.output.dtype != tensor.source.dtype else { return bytes }
    return try DTypeConversion.convert(
      bytes, info: tensor.source, to: tensor.output.dtype, lossy: lossy, file: input)
  }

  private func outputFormat(_ source: PackSource) -> TensorWriter.Format {
    let compressedInput =
      (source as? TensorReader)?.format == .compressed
      || (source as? ImportedTensors)?.fromCompressedFile == true
    if plain || (!compress && !compressedInput && level == nil) { return .safetensors }
    return .compressed(level: level ?? 3)
  }

  private func report(_ plan: PackPlan, path: String) {
    guard !quiet.quiet else { return }
    var info = stat()
    let fileBytes = stat(path, &info) == 0 ? Int(info.st_size) : 0
    let raw = plan.tensors.reduce(0) { $0 + $1.output.byteCount }
    let count = plan.tensors.count
    Console.current.diagnostic(
      "\(Self.toolName): wrote \(escapeControlCharacters(path)): \(count) \(count == 1 ? "tensor" : "tensors"), "
        + "\(formatByteCount(raw)) of data, \(formatByteCount(fileBytes)) on disk")
  }

  private func targetType(_ name: String) -> DType? {
    DTypeConversion.targets.first { $0.name == name.uppercased() }
  }

  private func renameRules() throws -> [RenameRule] {
    try rename.map(RenameRule.init)
  }

  private func metadataAssignments() throws -> [(String, String)] {
    try setMeta.map { text in
      guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
        throw ValidationError("--set-meta expects K=V with a non-empty key, got '\(text)'")
      }
      return (String(text[..<equals]), String(text[text.index(after: equals)...]))
    }
  }
}
