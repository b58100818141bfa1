// kswap-inspect: what a weight file holds, from its header alone unless values are asked for.

import ArgumentParser
import Glibc
import TensorFile
import ToolSupport

/// `kswap-inspect FILE|-`: the tensors of a weight file, its metadata and totals, as a table or JSON.
public struct Inspect: Tool {
  public static let configuration = CommandConfiguration(
    commandName: "kswap-inspect",
    abstract: "List the tensors, metadata and totals of a weight file; --stats for its values.",
    discussion: """
      Reads plain safetensors, kswap's compressed .kst files and sharded checkpoints (the \
      *.index.json). Without --stats only the header (or a .kst file's index) is read, so listing a \
      multi-gigabyte file takes milliseconds. The report goes to stdout; errors to stderr. \
      Exit status: 0 success, 2 unreadable or malformed file, 64 usage error.
      """,
    version: ToolVersion.text())

  @Argument(
    help: ArgumentHelp(
      "The weight file: safetensors, .kst, a sharded checkpoint's index.json, or '-' for stdin.",
      valueName: "file"))
  public var file: String

  @Flag(help: "Also read every listed tensor's values: min, max, mean, std, L2 norm, NaN/Inf/zero counts.")
  public var stats = false

  @Option(
    help: ArgumentHelp(
      "List only tensors whose name matches this shell pattern ('*' also matches dots); repeat to add patterns. Default: all.",
      valueName: "glob"))
  public var filter: [String] = []

  @OptionGroup public var json: JSONOption
  @OptionGroup public var quiet: QuietOption

  public init() {}

  public func run() throws {
    try InputPath.check(file)
    let reader = try TensorReader(path: file)
    let globs = filter.map(Glob.init)
    let selected = { (name: String) in globs.isEmpty || globs.contains { $0.matches(name) } }
    var rows = reader.tensors.filter { selected($0.name) }.map { Row(info: $0) }
    if stats {
      try readStatistics(reader, into: &rows, selected: selected)
    } else if !reader.isSeekable {
      try readStream(reader, into: &rows)
    }
    let report = Report(
      file: file, format: reader.format, fileBytes: reader.format == .sharded ? nil : fileSize(file),
      metadata: reader.metadata,
      filter: filter, rows: rows, withStatistics: stats)
    Console.current.write(json.json ? report.json().text() + "\n" : report.table())
  }

  /// Reads the listed tensors one at a time: by random access on a file, in one pass on a pipe.
  private func readStatistics(_ reader: TensorReader, into rows: inout [Row], selected: (String) -> Bool) throws {
    let progress = ProgressReporter(tool: Self.toolName, quiet: quiet.quiet)
    defer { progress.finish() }
    var position: [String: Int] = [:]
    for (index, row) in rows.enumerated() { position[row.info.name] = index }
    var done = 0
    func visit(_ info: TensorInfo, _ bytes: [UInt8]) {
      guard let index = position[info.name] else { return }
      rows[index].info = info  // a stream learns stored sizes as it goes
      rows[index].statistics = TensorStatistics(bytes: bytes, dtype: info.dtype)
      done += 1
      progress.update(ProgressEvent(stage: "stats", step: done, steps: rows.count))
    }
    if reader.isSeekable {
      for row in rows { visit(row.info, try reader.bytes(of: row.info.name)) }
    } else {
      try reader.forEachTensor { info, bytes in if selected(info.name) { visit(info, bytes) } }
    }
  }

  /// Reads a stream to its end without decoding values: that checks it (truncation, checksums),
  /// learns a .kst stream's stored sizes, and lets the producer finish instead of dying of SIGPIPE.
  private func readStream(_ reader: TensorReader, into rows: inout [Row]) throws {
    var position: [String: Int] = [:]
    for (index, row) in rows.enumerated() { position[row.info.name] = index }
    try reader.forEachTensor { info, _ in
      if let index = position[info.name] { rows[index].info = info }
    }
  }

  private func fileSize(_ path: String) -> Int? {
    var info = stat()
    guard path != "-", stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
    return Int(info.st_size)
  }
}

/// One listed tensor.
struct Row {
  var info: TensorInfo
  var statistics: TensorStatistics?
}
