// The two renderings of kswap-inspect's report: an aligned table for people, JSON for programs.

import TensorFile
import ToolSupport

/// What kswap-inspect found, ready to print.
struct Report {
  var file: String
  var format: TensorReader.Format
  var fileBytes: Int?
  var metadata: [String: String]
  var filter: [String]
  var rows: [Row]
  var withStatistics: Bool

  var totalElements: Int { rows.reduce(0) { $0 + $1.info.elementCount } }
  var totalBytes: Int { rows.reduce(0) { $0 + $1.info.byteCount } }
  var totalStoredBytes: Int? {
    rows.reduce(Optional(0)) { sum, row in sum.flatMap { sum in row.info.storedByteCount.map { sum + $0 } } }
  }

  /// The JSON object of Formats/inspect-json.md, version 1.
  func json() -> JSON {
    .object([
      ("version", .integer(1)),
      ("file", .string(file)),
      ("format", .string(formatName)),
      ("file_bytes", .integer(fileBytes)),
      ("metadata", .object(metadata.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
      ("filter", .array(filter.map { .string($0) })),
      ("tensors", .array(rows.map(tensorJSON))),
      (
        "totals",
        .object([
          ("tensors", .integer(rows.count)),
          ("elements", .integer(totalElements)),
          ("bytes", .integer(totalBytes)),
          ("stored_bytes", .integer(totalStoredBytes)),
        ])
      ),
    ])
  }

  private func tensorJSON(_ row: Row) -> JSON {
    var members: [(String, JSON)] = [
      ("name", .string(row.info.name)),
      ("dtype", .string(row.info.dtype.name)),
      ("shape", .array(row.info.shape.map { .integer($0) })),
      ("elements", .integer(row.info.elementCount)),
      ("bytes", .integer(row.info.byteCount)),
      ("stored_bytes", .integer(row.info.storedByteCount)),
      ("codec", .string(row.info.codec.rawValue)),
    ]
    if withStatistics {
      let statistics = row.statistics
      let decoded = statistics?.decoded == true
      members.append(
        (
          "stats",
          .object([
            ("min", .number(decoded && statistics?.count ?? 0 > 0 ? statistics?.min : nil)),
            ("max", .number(decoded && statistics?.count ?? 0 > 0 ? statistics?.max : nil)),
            ("mean", .number(decoded ? statistics?.mean : nil)),
            ("std", .number(decoded ? statistics?.standardDeviation : nil)),
            ("l2", .number(decoded ? statistics?.l2 : nil)),
            ("nan", .integer(statistics?.nan ?? 0)),
            ("inf", .integer(statistics?.inf ?? 0)),
            ("zeros", .integer(statistics?.zeros ?? 0)),
          ])
        ))
    }
    return .object(members)
  }

  /// The report for people: file line, metadata, one aligned row per tensor, totals.
  func table() -> String {
    var text = "file: \(file == "-" ? "<stdin>" : escapeControlCharacters(file)) (\(formatName)"
    if let fileBytes { text += ", \(fileBytes) bytes" }
    text += ")\n"
    if metadata.isEmpty {
      text += "metadata: none\n"
    } else {
      text += "metadata:\n"
      for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
        text += "  \(escapeControlCharacters(key)): \(escapeControlCharacters(value))\n"
      }
    }
    var header = ["name", "dtype", "shape", "elements", "bytes", "stored", "codec"]
    if withStatistics { header += ["min", "max", "mean", "std", "l2", "nan", "inf", "zeros"] }
    let lines = [header] + rows.map(cells)
    text += "\n" + align(lines, rightAligned: Set(3..<header.count).subtracting([6]))
    text += "\n" + totalsLine() + "\n"
    return text
  }

  private func cells(_ row: Row) -> [String] {
    let info = row.info
    var cells = [
      escapeControlCharacters(info.name), info.dtype.name,
      "[" + info.shape.map(String.init).joined(separator: ", ") + "]",
      String(info.elementCount), String(info.byteCount),
      info.storedByteCount.map(String.init) ?? "-", info.codec.rawValue,
    ]
    if withStatistics {
      let statistics = row.statistics
      let decoded = statistics?.decoded == true
      let finite = decoded && (statistics?.count ?? 0) > 0
      func number(_ value: Double?) -> String { finite ? value.map(formatStatistic) ?? "-" : "-" }
      cells += [
        number(statistics?.min), number(statistics?.max), number(statistics?.mean),
        number(statistics?.standardDeviation), number(statistics?.l2),
        decoded ? String(statistics?.nan ?? 0) : "-", decoded ? String(statistics?.inf ?? 0) : "-",
        decoded ? String(statistics?.zeros ?? 0) : "-",
      ]
    }
    return cells
  }

  private func totalsLine() -> String {
    var line = "total: \(rows.count) \(rows.count == 1 ? "tensor" : "tensors"), \(totalElements) elements, "
    line += "\(totalBytes) bytes (\(formatByteCount(totalBytes)))"
    if let stored = totalStoredBytes, stored != totalBytes {
      line += ", stored in \(stored) bytes (\(formatByteCount(stored)))"
      if totalBytes > 0 { line += ", " + formatRatio(Double(stored) / Double(totalBytes)) + " of raw" }
    }
    return line
  }

  private var formatName: String {
    switch format {
    case .safetensors: return "safetensors"
    case .compressed: return "kst"
    case .sharded: return "sharded"
    }
  }
}

/// Columns padded to their widest cell, two spaces apart; `rightAligned` columns are numbers.
func align(_ lines: [[String]], rightAligned: Set<Int>) -> String {
  guard let columns = lines.first?.count else { return "" }
  var widths = [Int](repeating: 0, count: columns)
  for line in lines {
    for (column, cell) in line.enumerated() { widths[column] = max(widths[column], cell.count) }
  }
  var text = ""
  for line in lines {
    var cells: [String] = []
    for (column, cell) in line.enumerated() {
      let padding = String(repeating: " ", count: widths[column] - cell.count)
      let isLast = column == columns - 1
      cells.append(rightAligned.contains(column) ? padding + cell : (isLast ? cell : cell + padding))
    }
    text += cells.joined(separator: "  ") + "\n"
  }
  return text
}

/// Five significant digits (`%.5g`); enough to compare layers by eye.
func formatStatistic(_ value: Double) -> String {
  formatSignificant(value, digits: 5)
}

func formatRatio(_ value: Double) -> String {
  formatSignificant(value, digits: 3)
}
