// kswap-diff: per-tensor and per-block change between checkpoints, or LoRA norms of adapters.

import ArgumentParser
import Glibc
import TensorFile
import ToolSupport
import WeightSurgery

extension DiffMetric: ExpressibleByArgument {}

public struct Diff: Tool {
  public enum Rows: String, ExpressibleByArgument, CaseIterable, Sendable {
    case tensor, block
  }

  public static let configuration = CommandConfiguration(
    commandName: "kswap-diff",
    abstract: "Per-tensor and per-block change between checkpoints or adapters.",
    discussion: """
      Compares every file with the first: ||B-A|| (L2 of the difference), ||B-A||/||A|| (relative \
      change), cosine similarity and max |B-A| per tensor; tensors in only some files are listed as \
      such. More than two files form a series shown side by side. When every file is a LoRA adapter \
      it also reports per module and per block the sum of the Frobenius norms of A and B and the \
      norm of scale * B A (one adapter may be given alone). JSON schema: Formats/diff-json.md.

      Exit status: 0 same or report written, 1 differs (--check), 2 trouble, 64 usage.
      """,
    version: ToolVersion.text())

  @Argument(
    help: ArgumentHelp(
      "The reference file, then the files to compare with it ('-' for stdin, once).", valueName: "file"))
  var files: [String]

  @Option(help: "Rows per tensor (adapters: per module) or per transformer block (plus embed and head).")
  var by: Rows = .tensor

  @Option(
    name: .customLong("metric"),
    help: ArgumentHelp(
      "Figure to show, repeatable: l2, relative, cosine, max-abs; for adapters also norm, delta. Default: all four for two checkpoints, relative for a series, norm and delta for adapters.",
      valueName: "m"))
  var metrics: [DiffMetric] = []

  @OptionGroup var jsonOption: JSONOption

  @Option(
    help: ArgumentHelp(
      "Also write an SVG chart of the per-block values of the first metric to this file ('-': stdout instead of the table); replaces an existing file.",
      valueName: "file"))
  var svg: String?

  @Flag(
    help:
      "Print nothing; exit 1 when some tensor is missing, added, reshaped, non-finite or differs beyond --tolerance.")
  var check = false

  @Option(help: ArgumentHelp("Largest absolute element difference --check accepts.", valueName: "t"))
  var tolerance: Double = 0

  public init() {}

  public func validate() throws {
    guard !files.isEmpty else { throw ValidationError("give at least two files (or one adapter)") }
    guard files.filter({ $0 == "-" }).count <= 1 else { throw ValidationError("'-' (stdin) can be given only once") }
    guard tolerance >= 0, tolerance.isFinite else { throw ValidationError("--tolerance must be a number >= 0") }
    if svg == "-" && jsonOption.json {
      throw ValidationError("--svg - and --json both want stdout; write the chart to a file")
    }
  }

  public func run() throws {
    let console = Console.current
    for file in files { try InputPath.check(file) }
    if let svg { try checkOutputDirectory(svg) }  // before the files are compared
    let report = try DiffRunner.run(operands: files, tolerance: tolerance)
    if metrics.contains(where: \.isAdapterMetric), !metrics.allSatisfy(\.isAdapterMetric) {
      throw ValidationError(
        "--metric norm and delta (LoRA norms per file) cannot be mixed with l2, relative, cosine, max-abs (changes against the first file)"
      )
    }
    if report.mode == .adapters, files.count < 2, metrics.contains(where: { !$0.isAdapterMetric }) {
      throw ValidationError("--metric \(metrics[0].rawValue) compares files; give two or more")
    }
    if report.mode == .checkpoints {
      guard files.count >= 2 else {
        throw ValidationError("give at least two files; a single file must be a LoRA adapter")
      }
      if let metric = metrics.first(where: \.isAdapterMetric) {
        throw ValidationError("--metric \(metric.rawValue) applies to adapters; these files are not all LoRA adapters")
      }
    }
    if let svg {
      let text = report.chart(metric: metrics.first).render()
      if svg == "-" {
        console.write(text)
      } else {
        if let input = files.first(where: { sameFile($0, svg) }) {
          throw ToolError(.output, file: svg, "is also the input \(input); write the chart elsewhere")
        }
        let output = try OutputFile(path: svg)
        do {
          try writeAll(output.fileDescriptor, Array(text.utf8), path: svg)
          try output.commit()
        } catch {
          output.discard()
          throw error
        }
      }
    }
    if check {
      if report.differs { throw ExitCode.failure }
      return
    }
    if svg == "-" { return }
    if jsonOption.json {
      console.write(report.json().text(indent: 2) + "\n")
    } else {
      console.write(report.table(byBlock: by == .block, metrics: metrics))
    }
  }
}

private func writeAll(_ descriptor: Int32, _ bytes: [UInt8], path: String) throws {
  var offset = 0
  while offset < bytes.count {
    let written = bytes[offset...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    if written < 0 {
      if errno == EINTR { continue }
      throw ToolError.system(path, "cannot write the chart")
    }
    offset += written
  }
}
