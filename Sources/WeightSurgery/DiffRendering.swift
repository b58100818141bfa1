// kswap-diff's three views of a DiffReport: the aligned table, JSON (Formats/diff-json.md) and the chart.

import Foundation
import TensorFile

public enum DiffMetric: String, CaseIterable, Sendable {
  case l2, relative, cosine
  case maxAbs = "max-abs"
  /// Adapters: ||A||_F + ||B||_F summed over the row's modules (the paper's per-block LoRA norm).
  case norm
  /// Adapters: ||scale * B A||_F (root of the sum of squares over a block's modules).
  case delta

  public var title: String {
    switch self {
    case .l2: return "||B-A||"
    case .relative: return "||B-A||/||A||"
    case .cosine: return "cosine"
    case .maxAbs: return "max|B-A|"
    case .norm: return "sum ||LoRA||_F"
    case .delta: return "||scale*BA||_F"
    }
  }

  /// Words for a chart axis or title.
  public var label: String {
    switch self {
    case .l2: return "L2 norm of the difference, ||B-A||"
    case .relative: return "relative change, ||B-A|| / ||A||"
    case .cosine: return "cosine similarity of A and B"
    case .maxAbs: return "largest absolute difference, max |B-A|"
    case .norm: return "LoRA norm, sum of ||A||_F + ||B||_F"
    case .delta: return "LoRA update norm, ||scale * B A||_F"
    }
  }

  public var isAdapterMetric: Bool { self == .norm || self == .delta }

  func value(_ sums: DiffSums) -> Double? {
    switch self {
    case .l2: return sums.l2
    case .relative: return sums.relative
    case .cosine: return sums.cosine
    case .maxAbs: return sums.maxAbsDifference
    case .norm, .delta: return nil
    }
  }
}

extension DiffReport {
  /// Short column labels for the files: base names, or whole paths where base names repeat.
  public var fileLabels: [String] {
    let names = files.map { $0 == "-" ? "stdin" : (($0 as NSString).lastPathComponent) }
    return Set(names).count == names.count ? names : files
  }

  // MARK: table

  /// The aligned text table. `metrics` are the figures shown per later file (checkpoints) or per file
  /// (adapters); empty means the defaults (all four for two checkpoints, relative change for a series;
  /// norm and delta for adapters).
  public func table(byBlock: Bool, metrics requested: [DiffMetric]) -> String {
    let metrics = requested.isEmpty ? defaultMetrics : requested
    let labels = fileLabels
    // LoRA norms belong to every file; changes to every file but the reference.
    let loraView = metrics.allSatisfy(\.isAdapterMetric)
    var header = [byBlock ? "block" : (loraView ? "module" : "tensor")]
    let columnsPerFile = loraView ? Array(files.indices) : Array(files.indices.dropFirst())
    let series = columnsPerFile.count > 1
    for file in columnsPerFile {
      for metric in metrics { header.append(series ? "\(labels[file]) \(metric.title)" : metric.title) }
    }
    var rows: [[String]] = []
    var notes: [String] = []
    if byBlock {
      // Adapters are compared by their LoRA norms: groups without LoRA have nothing to show.
      let shown = loraView ? blocks.filter { $0.normSums.contains { $0 != nil } } : blocks
      for block in shown {
        var row = [block.group.description]
        for file in columnsPerFile {
          for metric in metrics { row.append(Self.cell(blockValue(block, metric: metric, file: file))) }
        }
        rows.append(row)
      }
      for entry in tensors where !loraView {
        for (i, change) in entry.changes.enumerated() where change.status != .compared {
          notes.append(note(entry.name, change.status, file: i + 1))
        }
      }
    } else if loraView {
      for module in modules {
        var row = [module.module]
        for file in columnsPerFile {
          for metric in metrics {
            let norms = module.norms[file]
            row.append(Self.cell(metric == .norm ? norms?.normSum : metric == .delta ? norms?.deltaNorm : nil))
          }
        }
        rows.append(row)
      }
    } else {
      for entry in tensors {
        var row = [entry.name]
        for (i, change) in entry.changes.enumerated() {
          for metric in metrics {
            switch change.status {
            case .compared: row.append(Self.cell(metric.value(change.sums)))
            case .missing: row.append("missing")
            case .added: row.append("added")
            case .shapeDiffers: row.append("reshaped")
            }
          }
          if change.status != .compared { notes.append(note(entry.name, change.status, file: i + 1)) }
        }
        rows.append(row)
      }
    }
    var text = Self.align([header] + rows)
    if !loraView {
      text = "reference: \(labels[0])\n" + text
    }
    for line in notes { text += line + "\n" }
    return text
  }

  var defaultMetrics: [DiffMetric] {
    if mode == .adapters { return [.norm, .delta] }
    return files.count == 2 ? [.l2, .relative, .cosine, .maxAbs] : [.relative]
  }

  func blockValue(_ block: BlockEntry, metric: DiffMetric, file: Int) -> Double? {
    switch metric {
    case .norm: return block.normSums[file]
    case .delta: return block.deltaNorms[file]
    default:
      guard file >= 1, block.changes[file - 1].count > 0 else { return nil }
      return metric.value(block.changes[file - 1])
    }
  }

  func note(_ name: String, _ status: Status, file: Int) -> String {
    let labels = fileLabels
    switch status {
    case .missing: return "only in \(labels[0]), not in \(labels[file]): \(name)"
    case .added: return "only in \(labels[file]), not in \(labels[0]): \(name)"
    case .shapeDiffers: return "shape differs in \(labels[file]): \(name)"
    case .compared: return ""
    }
  }

  static func cell(_ value: Double?) -> String {
    guard let value else { return "-" }
    if value.isNaN { return "nan" }
    if value == 0 { return "0" }
    return String(format: "%.6g", value)
  }

  /// Left-aligns the first column, right-aligns the others, two spaces apart.
  static func align(_ rows: [[String]]) -> String {
    let columns = rows.map(\.count).max() ?? 0
    var widths = Array(repeating: 0, count: columns)
    for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
    var out = ""
    for row in rows {
      var line = ""
      for (i, cell) in row.enumerated() {
        let pad = String(repeating: " ", count: widths[i] - cell.count)
        line += i == 0 ? cell + pad : "  " + pad + cell
      }
      while line.hasSuffix(" ") { line.removeLast() }
      out += line + "\n"
    }
    return out
  }

  // MARK: JSON

  public func json() -> JSON {
    func figures(_ sums: DiffSums) -> [(String, JSON)] {
      [
        ("l2", .number(sums.l2)), ("relative", .number(sums.relative)), ("cosine", .number(sums.cosine)),
        ("max_abs", .number(sums.maxAbsDifference)), ("reference_l2", .number(sums.referenceSquares.squareRoot())),
        ("other_l2", .number(sums.otherSquares.squareRoot())), ("elements", .integer(sums.count)),
        ("non_finite", .integer(sums.nonFinite)),
      ]
    }
    let tensorItems: [JSON] = tensors.map { entry in
      .object([
        ("name", .string(entry.name)), ("group", .string(entry.group.description)),
        ("shapes", .array(entry.shapes.map { $0.map { .array($0.map { .integer($0) }) } ?? .null })),
        (
          "changes",
          .array(
            entry.changes.enumerated().map { i, change in
              .object(
                [("file", .integer(i + 1)), ("status", .string(change.status.rawValue))]
                  + (change.status == .compared ? figures(change.sums) : []))
            })
        ),
      ])
    }
    let blockItems: [JSON] = blocks.map { block in
      var members: [(String, JSON)] = [
        ("group", .string(block.group.description)),
        (
          "changes",
          .array(
            block.changes.enumerated().map { i, sums in
              .object([("file", .integer(i + 1))] + figures(sums))
            })
        ),
      ]
      if mode == .adapters {
        members.append(
          (
            "lora",
            .array(
              files.indices.map { file in
                .object([
                  ("file", .integer(file)), ("norm", .number(block.normSums[file])),
                  ("delta", .number(block.deltaNorms[file])),
                ])
              })
          ))
      }
      return .object(members)
    }
    var members: [(String, JSON)] = [
      ("version", .number(1)), ("mode", .string(mode.rawValue)),
      ("files", .array(files.map { .string($0) })), ("reference", .number(0)),
      ("tolerance", .number(tolerance)), ("differs", .bool(differs)),
      ("tensors", .array(tensorItems)),
    ]
    if mode == .adapters {
      members.append(
        (
          "modules",
          .array(
            modules.map { module in
              .object([
                ("module", .string(module.module)), ("group", .string(module.group.description)),
                (
                  "lora",
                  .array(
                    module.norms.enumerated().map { file, norms in
                      guard let norms else { return .object([("file", .integer(file))]) }
                      return .object([
                        ("file", .integer(file)), ("rank", .integer(norms.rank)), ("scale", .number(norms.scale)),
                        ("a_norm", .number(norms.aNorm)), ("b_norm", .number(norms.bNorm)),
                        ("norm", .number(norms.normSum)),
                        ("delta", .number(norms.deltaNorm)),
                      ])
                    })
                ),
              ])
            })
        ))
    }
    members.append(("blocks", .array(blockItems)))
    return .object(members)
  }

  // MARK: chart

  /// The per-block chart of one metric: one series per file (adapters) or per later file (checkpoints).
  public func chart(metric requested: DiffMetric?) -> SVGChart {
    let metric = requested ?? (mode == .adapters ? .norm : .relative)
    let blockList = metric.isAdapterMetric ? blocks.filter { $0.normSums.contains { $0 != nil } } : blocks
    let labels = fileLabels
    let plotted = metric.isAdapterMetric ? Array(files.indices) : Array(files.indices.dropFirst())
    let series = plotted.map { file in
      SVGChart.Series(name: labels[file], values: blockList.map { blockValue($0, metric: metric, file: file) })
    }
    let title =
      metric.isAdapterMetric ? "\(metric.label), per block" : "\(metric.label), per block, against \(labels[0])"
    return SVGChart(
      title: title.prefix(1).uppercased() + title.dropFirst(),
      xLabel: "block (embed = embeddings, head = final norm and classifier)", yLabel: metric.label,
      categories: blockList.map(\.group.description), series: series)
  }
}
