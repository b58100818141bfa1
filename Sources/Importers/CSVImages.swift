/// How to read a CSV image table: one image per row, pixel values in row-major (C, H, W) order,
/// and one label column. Fields are separated by commas; double quotes around a field are removed
/// (quoted fields containing commas are not supported: image tables do not need them).
public struct CSVImageOptions: Sendable {
  /// Which column holds the label.
  public enum LabelColumn: Equatable, Sendable {
    case first, last
    /// A 0-based column index.
    case index(Int)
    /// A column named in the header row.
    case named(String)
  }

  public var labelColumn: LabelColumn
  /// (channels, height, width); nil: one channel, square images (the pixel count must be a square).
  public var shape: (channels: Int, height: Int, width: Int)?

  public init(labelColumn: LabelColumn = .last, shape: (channels: Int, height: Int, width: Int)? = nil) {
    self.labelColumn = labelColumn
    self.shape = shape
  }
}

extension Dataset {
  /// A dataset from a CSV image table (already decompressed). The first row is a header when a
  /// pixel field of it is not a number, or when the label column is given by name. Pixels that are all integers in 0...255 stay bytes, otherwise
  /// they become floats. Integer labels are used as they are; text labels become classes
  /// numbered in sorted order.
  public static func fromCSV(bytes: [UInt8], file: String, options: CSVImageOptions = CSVImageOptions(),
                             limits: ImportLimits = .standard) throws -> Dataset {
    var rows = try CSVRows(bytes: bytes, file: file)
    guard var first = rows.next() else { throw ImportError(file, "the CSV table is empty") }
    var header: [String]?
    // A header row has text where the pixels go; with a label column given by name it must exist.
    let firstLabel: Int? = switch options.labelColumn {
    case .first: 0
    case .last: first.fields.count - 1
    case .index(let index): index
    case .named: nil
    }
    let pixelFieldIsText = first.fields.indices.contains { $0 != firstLabel && CSVRows.number(first.fields[$0]) == nil }
    if case .named(let name) = options.labelColumn, !first.fields.contains(where: { CSVRows.number($0) == nil }) {
      throw ImportError(file, "the CSV table has no header row to find column \"\(name)\" in")
    }
    if firstLabel == nil || pixelFieldIsText {
      header = first.fields.map(CSVRows.text)
      guard let row = rows.next() else { throw ImportError(file, "the CSV table has a header and no rows") }
      first = row
    }
    let columns = first.fields.count
    guard columns >= 2 else { throw ImportError(file, "line \(first.line): a row needs pixel columns and a label") }
    if let header, header.count != columns {
      throw ImportError(file, "the header has \(header.count) columns, line \(first.line) has \(columns)")
    }
    let labelIndex: Int
    switch options.labelColumn {
    case .first: labelIndex = 0
    case .last: labelIndex = columns - 1
    case .index(let index):
      guard index >= 0, index < columns else {
        throw ImportError(file, "label column \(index) is outside the \(columns) columns")
      }
      labelIndex = index
    case .named(let name):
      guard let index = header?.firstIndex(of: name) else {
        throw ImportError(file, "no column named \"\(name)\" in the header")
      }
      labelIndex = index
    }
    let pixelCount = columns - 1
    let shape = try options.shape ?? squareShape(pixelCount, file: file)
    guard shape.channels * shape.height * shape.width == pixelCount else {
      throw ImportError(file, "image shape \(shape.channels)x\(shape.height)x\(shape.width) needs \(shape.channels * shape.height * shape.width) pixel columns, the table has \(pixelCount)")
    }

    var pixels: [Float] = []
    var allBytes = true
    var labelTexts: [String] = []
    var row: CSVRows.Row? = first
    while let current = row {
      guard current.fields.count == columns else {
        throw ImportError(file, "line \(current.line) has \(current.fields.count) columns, expected \(columns)")
      }
      guard pixels.count + pixelCount <= limits.maxElements else {
        throw ImportError(file, "more than \(limits.maxElements) pixel values")
      }
      for (column, field) in current.fields.enumerated() {
        if column == labelIndex {
          labelTexts.append(CSVRows.text(field))
          continue
        }
        guard let value = CSVRows.number(field), value.isFinite else {
          throw ImportError(file, "line \(current.line), column \(column + 1): \"\(CSVRows.text(field))\" is not a finite number")
        }
        if allBytes && !(value >= 0 && value <= 255 && value == value.rounded()) { allBytes = false }
        pixels.append(value)
      }
      row = rows.next()
    }

    let labels: [Int64]
    var classes: [String?] = []
    if labelTexts.allSatisfy({ Int64($0) != nil }) {
      labels = labelTexts.map { Int64($0)! }
    } else {
      let names = Array(Set(labelTexts)).sorted()
      let index = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, Int64($0)) })
      labels = labelTexts.map { index[$0]! }
      classes = names
    }
    let images: Pixels = allBytes ? .u8(pixels.map { UInt8($0) }) : .f32(pixels)
    return try Dataset(images: images, channels: shape.channels, height: shape.height, width: shape.width,
                       labels: labels, classes: classes, file: file)
  }

  private static func squareShape(_ pixels: Int, file: String) throws -> (channels: Int, height: Int, width: Int) {
    let side = Int(Double(pixels).squareRoot().rounded())
    guard side * side == pixels else {
      throw ImportError(file, "\(pixels) pixel columns are not a square image: give the image shape")
    }
    return (1, side, side)
  }
}

/// Splits CSV bytes into rows of fields; blank lines are skipped, CRLF is accepted. Fields stay
/// byte slices (an image table has millions), turned into numbers or text on demand.
struct CSVRows {
  struct Row {
    var line: Int
    var fields: [ArraySlice<UInt8>]
  }

  private let bytes: [UInt8]
  private var position = 0
  private var line = 0

  init(bytes: [UInt8], file: String) throws {
    guard !bytes.contains(0) else { throw ImportError(file, "not a CSV table: the data contains zero bytes") }
    self.bytes = bytes
  }

  mutating func next() -> Row? {
    while position < bytes.count {
      line += 1
      let start = position
      while position < bytes.count && bytes[position] != UInt8(ascii: "\n") { position += 1 }
      var end = position
      position += 1
      if end > start && bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
      if end == start { continue }
      let fields = bytes[start..<end].split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false)
        .map(Self.trimmed)
      return Row(line: line, fields: fields)
    }
    return nil
  }

  /// The field without surrounding blanks and double quotes.
  static func trimmed(_ field: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
    var field = field
    while let first = field.first, first == 0x20 || first == 0x09 { field = field.dropFirst() }
    while let last = field.last, last == 0x20 || last == 0x09 { field = field.dropLast() }
    if field.count >= 2 && field.first == 0x22 && field.last == 0x22 { field = field.dropFirst().dropLast() }
    return field
  }

  static func text(_ field: ArraySlice<UInt8>) -> String { String(decoding: field, as: UTF8.self) }

  /// The field as a number: plain digits fast, anything else through Float's parser.
  static func number(_ field: ArraySlice<UInt8>) -> Float? {
    if !field.isEmpty && field.count <= 9 && field.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
      return Float(field.reduce(0) { $0 * 10 + Int($1 - 0x30) })
    }
    return Float(text(field))
  }
}
