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
  public static func fromCSV(
    bytes: [UInt8], file: String, options: CSVImageOptions = CSVImageOptions(),
    limits: ImportLimits = .standard
  ) throws -> Dataset {
    var rows = try CSVRows(bytes: bytes, file: file)
    guard var first = try rows.next() else { throw ImportError(.invalidDataset, file, "the CSV table is empty") }
    var header: [String]?
    // A header row has text where the pixels go; with a label column given by name it must exist.
    let firstLabel: Int? =
      switch options.labelColumn {
      case .first: 0
      case .last: first.fields.count - 1
      case .index(let index): index
      case .named: nil
      }
    let pixelFieldIsText = first.fields.indices.contains { $0 != firstLabel && rows.number(first.fields[$0]) == nil }
    if case .named(let name) = options.labelColumn, !first.fields.contains(where: { rows.number($0) == nil }) {
      throw ImportError(.notFound, file, "the CSV table has no header row to find column \"\(name)\" in")
    }
    if firstLabel == nil || pixelFieldIsText {
      header = first.fields.map(rows.text)
      guard let row = try rows.next() else {
        throw ImportError(.invalidDataset, file, "the CSV table has a header and no rows")
      }
      first = row
    }
    let columns = first.fields.count
    guard columns >= 2 else {
      throw ImportError(.malformed, file, "line \(first.line): a row needs pixel columns and a label")
    }
    if let header, header.count != columns {
      throw ImportError(.malformed, file, "the header has \(header.count) columns, line \(first.line) has \(columns)")
    }
    let labelIndex: Int
    switch options.labelColumn {
    case .first: labelIndex = 0
    case .last: labelIndex = columns - 1
    case .index(let index):
      guard index >= 0, index < columns else {
        throw ImportError(.invalidOption, file, "label column \(index) is outside the \(columns) columns")
      }
      labelIndex = index
    case .named(let name):
      guard let index = header?.firstIndex(of: name) else {
        throw ImportError(.notFound, file, "no column named \"\(name)\" in the header")
      }
      labelIndex = index
    }
    let pixelCount = columns - 1
    let shape = try options.shape ?? squareShape(pixelCount, file: file)
    guard shape.channels * shape.height * shape.width == pixelCount else {
      throw ImportError(
        .invalidOption,
        file,
        "image shape \(shape.channels)x\(shape.height)x\(shape.width) needs \(shape.channels * shape.height * shape.width) pixel columns, the table has \(pixelCount)"
      )
    }

    // Bytes while every pixel so far is an integer 0...255 (the fast, common case), floats after.
    var bytePixels: [UInt8] = []
    var floatPixels: [Float] = []
    var allBytes = true
    var labelTexts: [String] = []
    var row: CSVRows.Row? = first
    while let current = row {
      guard current.fields.count == columns else {
        throw ImportError(
          .malformed, file, "line \(current.line) has \(current.fields.count) columns, expected \(columns)")
      }
      guard labelTexts.count * pixelCount + pixelCount <= limits.maxElements else {
        throw ImportError(.limitExceeded, file, "more than \(limits.maxElements) pixel values")
      }
      let badColumn: Int? = rows.bytes.withUnsafeBufferPointer { buffer in
        for column in 0..<columns where column != labelIndex {
          let field = current.fields[column]
          if allBytes {
            var value = 0, index = field.lowerBound
            while index < field.upperBound && index - field.lowerBound < 4 {
              let digit = Int(buffer[index]) &- 0x30
              if digit < 0 || digit > 9 { break }
              value = value * 10 + digit
              index += 1
            }
            if index == field.upperBound && !field.isEmpty && value <= 255 {
              bytePixels.append(UInt8(value))
              continue
            }
            allBytes = false
            floatPixels = bytePixels.map { Float($0) }
            bytePixels = []
          }
          guard let value = rows.number(field), value.isFinite else { return column }
          floatPixels.append(value)
        }
        return nil
      }
      if let badColumn {
        let field = current.fields[badColumn]
        throw ImportError(
          .malformed,
          file, "line \(current.line), column \(badColumn + 1): \"\(rows.text(field))\" is not a finite number")
      }
      labelTexts.append(rows.text(current.fields[labelIndex]))
      row = try rows.next()
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
    let images: Pixels = allBytes ? .u8(bytePixels) : .f32(floatPixels)
    return try Dataset(
      images: images, channels: shape.channels, height: shape.height, width: shape.width,
      labels: labels, classes: classes, file: file)
  }

  /// The same from a stream: the first line is read a chunk at a time, so that a row wider than
  /// `CSVRows.maxColumns` is refused before the rest of the table is read.
  public static func fromCSV(stream: ArchiveStream, options: CSVImageOptions = CSVImageOptions()) throws -> Dataset {
    var bytes: [UInt8] = []
    var columns = 1
    while true {
      let chunk = try stream.read(upTo: 1 << 16, what: "the CSV table")
      let line = chunk.firstIndex(of: 0x0A).map { chunk[..<$0] } ?? chunk[...]
      columns += line.count { $0 == 0x2C }
      guard columns <= CSVRows.maxColumns else {
        throw ImportError(.limitExceeded, stream.name, "line 1 has more than \(CSVRows.maxColumns) columns, the limit")
      }
      bytes += chunk
      if chunk.isEmpty || line.count < chunk.count { break }
    }
    bytes += try stream.readToEnd()
    return try fromCSV(bytes: bytes, file: stream.name, options: options, limits: stream.limits)
  }

  private static func squareShape(_ pixels: Int, file: String) throws -> (channels: Int, height: Int, width: Int) {
    let side = Int(Double(pixels).squareRoot().rounded())
    guard side * side == pixels else {
      throw ImportError(.invalidOption, file, "\(pixels) pixel columns are not a square image: give the image shape")
    }
    return (1, side, side)
  }
}

/// Splits CSV bytes into rows of fields; blank lines are skipped, CRLF is accepted. Fields are
/// index ranges into the bytes (an image table has millions), turned into numbers or text on
/// demand; the scanning works on a raw buffer so that debug builds stay fast too.
struct CSVRows {
  struct Row {
    var line: Int
    var fields: [Range<Int>]
  }

  /// Most columns a row may have (fields are kept as ranges, 16 bytes each): a 1024 x 1024 grey
  /// image and its label fit.
  static let maxColumns = (1 << 20) + 1

  let bytes: [UInt8]
  let file: String
  private var position = 0
  private var line = 0

  init(bytes: [UInt8], file: String) throws {
    guard !bytes.contains(0) else {
      throw ImportError(.unrecognised, file, "not a CSV table: the data contains zero bytes")
    }
    self.bytes = bytes
    self.file = file
  }

  mutating func next() throws -> Row? {
    var fields: [Range<Int>] = []
    var tooWide = false
    let found = bytes.withUnsafeBufferPointer { buffer -> Bool in
      while position < buffer.count {
        line += 1
        var start = position
        var end = position
        while end < buffer.count && buffer[end] != 0x0A { end += 1 }
        position = end + 1
        if end > start && buffer[end - 1] == 0x0D { end -= 1 }
        if end == start { continue }
        var fieldStart = start
        while start <= end {
          if start == end || buffer[start] == 0x2C {
            guard fields.count < Self.maxColumns else {
              tooWide = true
              return true
            }
            fields.append(Self.trimmed(buffer, fieldStart..<start))
            fieldStart = start + 1
          }
          start += 1
        }
        return true
      }
      return false
    }
    if tooWide {
      throw ImportError(.limitExceeded, file, "line \(line) has more than \(Self.maxColumns) columns, the limit")
    }
    return found ? Row(line: line, fields: fields) : nil
  }

  /// The field without surrounding blanks and double quotes.
  private static func trimmed(_ buffer: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Range<Int> {
    var low = range.lowerBound, high = range.upperBound
    while low < high && (buffer[low] == 0x20 || buffer[low] == 0x09) { low += 1 }
    while high > low && (buffer[high - 1] == 0x20 || buffer[high - 1] == 0x09) { high -= 1 }
    if high - low >= 2 && buffer[low] == 0x22 && buffer[high - 1] == 0x22 {
      low += 1
      high -= 1
    }
    return low..<high
  }

  func text(_ field: Range<Int>) -> String { String(decoding: bytes[field], as: UTF8.self) }

  /// The field as a number: plain digits fast, anything else through Float's parser.
  func number(_ field: Range<Int>) -> Float? {
    let plain: Int? = bytes.withUnsafeBufferPointer { buffer in
      guard !field.isEmpty && field.count <= 9 else { return nil }
      var value = 0
      for index in field {
        let digit = Int(buffer[index]) - 0x30
        guard digit >= 0 && digit <= 9 else { return nil }
        value = value * 10 + digit
      }
      return value
    }
    if let plain { return Float(plain) }
    return Float(text(field))
  }
}
