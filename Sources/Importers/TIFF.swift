// Baseline uncompressed TIFF: the one-image files microscopy tools and tifffile write. Anything
// outside that subset is refused by name (tag and value); every offset and count is checked
// against the file's size before a byte is read, so a hostile file cannot trap or over-allocate.

/// One image read from a TIFF file: unsigned samples, row-major, channels interleaved per pixel.
public struct TIFFImage: Equatable, Sendable {
  public var width: Int
  public var height: Int
  /// 1 (grey, or a mask's labels) or 3 (RGB).
  public var channels: Int
  /// 8 or 16: samples are 0...255 or 0...65535.
  public var bitsPerSample: Int
  /// width x height x channels values.
  public var samples: [UInt16]
}

/// Reads the baseline subset of TIFF 6.0: byte order II or MM, one image (IFD), Compression 1
/// (none), PhotometricInterpretation 1 (BlackIsZero, one sample) or 2 (RGB, three samples), 8 or
/// 16 unsigned bits per sample, PlanarConfiguration 1 (chunky; 2 only with one sample, where the
/// two agree), Orientation 1, in strips or tiles.
public enum TIFF {
  /// Whether `bytes` start like a TIFF (classic or BigTIFF, either byte order).
  public static func isTIFF(_ bytes: [UInt8]) -> Bool {
    let starts: [[UInt8]] = [[0x49, 0x49, 42, 0], [0x49, 0x49, 43, 0], [0x4D, 0x4D, 0, 42], [0x4D, 0x4D, 0, 43]]
    return starts.contains { bytes.starts(with: $0) }
  }

  /// (width, height, channels) from the image's tags, every tag checked as `read` checks it.
  public static func header(_ bytes: [UInt8], file: String, limits: ImportLimits = .standard) throws
    -> (width: Int, height: Int, channels: Int)
  {
    let layout = try Layout(bytes, file: file, limits: limits)
    return (layout.width, layout.height, layout.channels)
  }

  /// The file's image; refused with the file named when it is not in the subset or is damaged.
  public static func read(_ bytes: [UInt8], file: String, limits: ImportLimits = .standard) throws -> TIFFImage {
    let layout = try Layout(bytes, file: file, limits: limits)
    let bytesPerSample = layout.bitsPerSample / 8
    let pixelBytes = layout.channels * bytesPerSample
    var samples = [UInt16](repeating: 0, count: layout.width * layout.height * layout.channels)
    samples.withUnsafeMutableBufferPointer { out in
      bytes.withUnsafeBufferPointer { data in
        // Each block (strip or tile) is blockWidth x blockHeight pixels at (left, top); the part
        // inside the image is copied row by row.
        for block in layout.blocks {
          let rows = min(layout.blockHeight, layout.height - block.top)
          let columns = min(layout.blockWidth, layout.width - block.left)
          for row in 0..<rows {
            var source = block.offset + row * layout.blockWidth * pixelBytes
            var target = ((block.top + row) * layout.width + block.left) * layout.channels
            for _ in 0..<columns * layout.channels {
              if bytesPerSample == 1 {
                out[target] = UInt16(data[source])
              } else {
                let (first, second) = (UInt16(data[source]), UInt16(data[source + 1]))
                out[target] = layout.bigEndian ? first << 8 | second : second << 8 | first
              }
              source += bytesPerSample
              target += 1
            }
          }
        }
      }
    }
    return TIFFImage(
      width: layout.width, height: layout.height, channels: layout.channels, bitsPerSample: layout.bitsPerSample,
      samples: samples)
  }

  /// TIFF tag numbers this reader looks at.
  enum Tag: Int {
    case imageWidth = 256, imageLength = 257, bitsPerSample = 258, compression = 259
    case photometric = 262, stripOffsets = 273, orientation = 274, samplesPerPixel = 277
    case rowsPerStrip = 278, stripByteCounts = 279, planarConfiguration = 284
    case tileWidth = 322, tileLength = 323, tileOffsets = 324, tileByteCounts = 325, sampleFormat = 339

    /// The specification's name, with the number, as messages give it: "Compression (259)".
    var label: String {
      let names: [Tag: String] = [
        .imageWidth: "ImageWidth", .imageLength: "ImageLength", .bitsPerSample: "BitsPerSample",
        .compression: "Compression", .photometric: "PhotometricInterpretation", .stripOffsets: "StripOffsets",
        .orientation: "Orientation", .samplesPerPixel: "SamplesPerPixel", .rowsPerStrip: "RowsPerStrip",
        .stripByteCounts: "StripByteCounts", .planarConfiguration: "PlanarConfiguration",
        .tileWidth: "TileWidth", .tileLength: "TileLength", .tileOffsets: "TileOffsets",
        .tileByteCounts: "TileByteCounts", .sampleFormat: "SampleFormat",
      ]
      return "\(names[self]!) (\(rawValue))"
    }
  }

  /// The image's geometry and where its pixel blocks lie, all checked against the file.
  struct Layout {
    var width = 0, height = 0, channels = 0, bitsPerSample = 0
    var bigEndian = false
    /// Strips are blocks as wide as the image.
    var blockWidth = 0, blockHeight = 0
    var blocks: [(offset: Int, left: Int, top: Int)] = []

    init(_ bytes: [UInt8], file: String, limits: ImportLimits) throws {
      func damaged(_ message: String) -> ImportError { ImportError(.malformed, file, "damaged TIFF: \(message)") }
      func unsupported(_ message: String) -> ImportError {
        ImportError(.unsupported, file, "unsupported TIFF: \(message)")
      }
      guard bytes.count >= 8, bytes[0] == bytes[1], bytes[0] == 0x49 || bytes[0] == 0x4D else {
        throw ImportError(.unrecognised, file, "not a TIFF file (it does not start with II or MM)")
      }
      bigEndian = bytes[0] == 0x4D
      let big = bigEndian
      func u16(_ at: Int) -> Int {
        big ? Int(bytes[at]) << 8 | Int(bytes[at + 1]) : Int(bytes[at + 1]) << 8 | Int(bytes[at])
      }
      func u32(_ at: Int) -> Int { big ? u16(at) << 16 | u16(at + 2) : u16(at + 2) << 16 | u16(at) }
      let version = u16(2)
      if version == 43 { throw unsupported("BigTIFF (version 43) is not read; only classic TIFF (42)") }
      guard version == 42 else {
        throw ImportError(.unrecognised, file, "not a TIFF file (version \(version), expected 42)")
      }

      // The first image file directory: a count, 12-byte entries, the next directory's offset.
      let directory = u32(4)
      guard directory >= 8, directory + 2 <= bytes.count else {
        throw damaged("the image directory's offset \(directory) is outside the file (\(bytes.count) bytes)")
      }
      let entryCount = u16(directory)
      guard entryCount > 0 else { throw damaged("the image directory has no entries") }
      let nextField = directory + 2 + 12 * entryCount
      guard nextField + 4 <= bytes.count else {
        throw damaged("the image directory's \(entryCount) entries run past the end of the file (\(bytes.count) bytes)")
      }
      let next = u32(nextField)
      if next != 0 {
        throw unsupported("the file holds more than one image (a second directory at offset \(next)); one is expected")
      }

      // Integer values of the tags read here: BYTE, SHORT or LONG, in the entry or at its offset.
      var entries: [Tag: (type: Int, count: Int, field: Int)] = [:]
      for index in 0..<entryCount {
        let at = directory + 2 + 12 * index
        guard let tag = Tag(rawValue: u16(at)), entries[tag] == nil else { continue }
        entries[tag] = (u16(at + 2), u32(at + 4), at + 8)
      }
      func values(_ tag: Tag) throws -> [Int]? {
        guard let entry = entries[tag] else { return nil }
        let size: Int
        switch entry.type {
        case 1: size = 1
        case 3: size = 2
        case 4: size = 4
        default: throw damaged("\(tag.label) has field type \(entry.type); BYTE, SHORT or LONG expected")
        }
        guard entry.count > 0 else { throw damaged("\(tag.label) has no values") }
        let total = entry.count * size  // count < 2^32, so no overflow in 64 bits
        let start = total <= 4 ? entry.field : u32(entry.field)
        guard start <= bytes.count, total <= bytes.count - start else {
          throw damaged(
            "\(tag.label)'s \(entry.count) values at offset \(start) run past the end of the file (\(bytes.count) bytes)"
          )
        }
        return (0..<entry.count).map { index in
          switch size {
          case 1: return Int(bytes[start + index])
          case 2: return u16(start + 2 * index)
          default: return u32(start + 4 * index)
          }
        }
      }
      func value(_ tag: Tag, default fallback: Int? = nil) throws -> Int {
        guard let found = try values(tag) else {
          guard let fallback else { throw damaged("the required tag \(tag.label) is missing") }
          return fallback
        }
        guard found.count == 1 else { throw damaged("\(tag.label) has \(found.count) values, expected one") }
        return found[0]
      }

      let compression = try value(.compression, default: 1)
      guard compression == 1 else {
        let names = [
          2: "CCITT RLE", 3: "CCITT T.4", 4: "CCITT T.6", 5: "LZW", 6: "old-style JPEG", 7: "JPEG",
          8: "Deflate", 32773: "PackBits", 32946: "Deflate", 34925: "LZMA", 50000: "Zstandard",
        ]
        let name = names[compression].map { " (\($0))" } ?? ""
        throw unsupported("\(Tag.compression.label) is \(compression)\(name); only uncompressed (1) files are read")
      }
      let photometric = try value(.photometric)
      channels = try value(.samplesPerPixel, default: 1)
      switch (photometric, channels) {
      case (1, 1), (2, 3): break
      case (1, _), (2, _):
        throw unsupported(
          "\(Tag.samplesPerPixel.label) is \(channels) with \(Tag.photometric.label) \(photometric); "
            + "1 (grey) or 3 (RGB) samples are read, without extra samples such as alpha")
      default:
        let names = [0: "WhiteIsZero", 3: "palette", 4: "transparency mask", 5: "separated (CMYK)", 6: "YCbCr"]
        let name = names[photometric].map { " (\($0))" } ?? ""
        throw unsupported(
          "\(Tag.photometric.label) is \(photometric)\(name); only BlackIsZero (1) grey and RGB (2) are read")
      }
      let formats = try values(.sampleFormat) ?? [1]
      if let format = formats.first(where: { $0 != 1 }) {
        let name = [2: " (signed integers)", 3: " (floating point)"][format] ?? ""
        throw unsupported("\(Tag.sampleFormat.label) is \(format)\(name); only unsigned integers (1) are read")
      }
      let depths = try values(.bitsPerSample) ?? [1]
      guard depths.count == channels || depths.count == 1, let depth = depths.first,
        depths.allSatisfy({ $0 == depth }), depth == 8 || depth == 16
      else {
        throw unsupported(
          "\(Tag.bitsPerSample.label) is \(depths.map(String.init).joined(separator: ",")); 8 or 16 bits per sample are read"
        )
      }
      bitsPerSample = depth
      let planar = try value(.planarConfiguration, default: 1)
      guard planar == 1 || (planar == 2 && channels == 1) else {
        throw unsupported(
          "\(Tag.planarConfiguration.label) is \(planar); only chunky (1) samples are read, one plane per image")
      }
      let orientation = try value(.orientation, default: 1)
      guard orientation == 1 else {
        throw unsupported(
          "\(Tag.orientation.label) is \(orientation); only 1 (rows from the top, left to right) is read")
      }

      width = try value(.imageWidth)
      height = try value(.imageLength)
      guard width > 0, height > 0, let pixels = checkedProduct([width, height]), pixels <= limits.maxImagePixels else {
        throw ImportError(
          .limitExceeded,
          file, "image size \(width)x\(height) is empty or over the limit of \(limits.maxImagePixels) pixels")
      }
      let pixelBytes = channels * bitsPerSample / 8

      // Strips or tiles: where each block starts, how many bytes it holds and needs.
      let offsetsTag: Tag, countsTag: Tag, across: Int, down: Int
      if entries[.tileWidth] != nil || entries[.tileOffsets] != nil {
        (offsetsTag, countsTag) = (.tileOffsets, .tileByteCounts)
        blockWidth = try value(.tileWidth)
        blockHeight = try value(.tileLength)
        guard blockWidth > 0, blockHeight > 0, let pixels = checkedProduct([blockWidth, blockHeight]),
          pixels <= limits.maxImagePixels
        else {
          throw damaged("tile size \(blockWidth)x\(blockHeight) is empty or over the limit")
        }
        across = (width + blockWidth - 1) / blockWidth
      } else {
        (offsetsTag, countsTag) = (.stripOffsets, .stripByteCounts)
        blockWidth = width
        blockHeight = min(try value(.rowsPerStrip, default: height), height)
        guard blockHeight > 0 else { throw damaged("\(Tag.rowsPerStrip.label) is 0") }
        across = 1
      }
      down = (height + blockHeight - 1) / blockHeight
      guard let offsets = try values(offsetsTag) else {
        throw damaged("the required tag \(offsetsTag.label) is missing")
      }
      guard let counts = try values(countsTag) else { throw damaged("the required tag \(countsTag.label) is missing") }
      guard offsets.count == across * down, counts.count == offsets.count else {
        throw damaged(
          "\(offsets.count) \(offsetsTag.label) and \(counts.count) \(countsTag.label) values for the image's "
            + "\(across * down) blocks of \(blockWidth)x\(blockHeight) pixels")
      }
      let kind = offsetsTag == .tileOffsets ? "tile" : "strip"
      for (index, (offset, count)) in zip(offsets, counts).enumerated() {
        let (left, top) = ((index % across) * blockWidth, (index / across) * blockHeight)
        // A strip needs its rows only; a tile is stored whole, padding included.
        let rows = kind == "tile" ? blockHeight : min(blockHeight, height - top)
        let needed = rows * blockWidth * pixelBytes
        guard count >= needed else {
          throw damaged(
            "\(kind) \(index) holds \(count) bytes; its \(rows) rows of \(blockWidth) pixels need \(needed)")
        }
        guard offset <= bytes.count, count <= bytes.count - offset else {
          throw damaged(
            "\(kind) \(index) (\(count) bytes at offset \(offset)) runs past the end of the file (\(bytes.count) bytes)"
          )
        }
        blocks.append((offset, left, top))
      }
    }
  }
}

extension ImageDecoder {
  /// A TIFF as `channels` bytes per pixel: grey is repeated into RGB, and RGB made grey with
  /// libjpeg's weights (0.299 R + 0.587 G + 0.114 B, rounded) as JPEG files are.
  static func decodeTIFF(
    _ bytes: [UInt8], channels: Int, file: String, limits: ImportLimits, sixteenBit: SixteenBitScale
  ) throws -> DecodedImage {
    let image = try TIFF.read(bytes, file: file, limits: limits)
    let eight =
      image.bitsPerSample == 8 ? image.samples.map { UInt8($0) } : bytesFromSixteenBit(image.samples, scale: sixteenBit)
    var pixels: [UInt8]
    switch (image.channels, channels) {
    case (1, 3): pixels = eight.flatMap { [$0, $0, $0] }
    case (3, 1):
      pixels = (0..<image.width * image.height).map { index in
        let (red, green, blue) = (UInt32(eight[3 * index]), UInt32(eight[3 * index + 1]), UInt32(eight[3 * index + 2]))
        return UInt8((19595 * red + 38470 * green + 7471 * blue + 32768) >> 16)
      }
    default: pixels = eight
    }
    return DecodedImage(width: image.width, height: image.height, channels: channels, pixels: pixels)
  }

  /// 16-bit samples as bytes, scaled as `scale` says (Formats/dataset.md, "Import rules").
  static func bytesFromSixteenBit(_ samples: [UInt16], scale: SixteenBitScale) -> [UInt8] {
    let top: UInt32 = scale == .full ? 65535 : UInt32(samples.max() ?? 0)
    guard top > 0 else { return [UInt8](repeating: 0, count: samples.count) }
    return samples.map { UInt8((UInt32($0) * 255 + top / 2) / top) }
  }
}
