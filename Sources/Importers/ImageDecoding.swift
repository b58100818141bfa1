import CJPEG
import CPNG
import TensorFile

/// One decoded image: height x width pixels of `channels` interleaved bytes (1 grey, 3 RGB).
public struct DecodedImage: Equatable, Sendable {
  public var width: Int
  public var height: Int
  public var channels: Int
  public var pixels: [UInt8]

  /// The pixels as planes (C, H, W), as datasets store them.
  public var planar: [UInt8] {
    guard channels > 1 else { return pixels }
    var out = [UInt8](repeating: 0, count: pixels.count)
    let plane = width * height
    for index in 0..<plane {
      for channel in 0..<channels { out[channel * plane + index] = pixels[index * channels + channel] }
    }
    return out
  }
}

/// How 16-bit samples become bytes.
public enum SixteenBitScale: String, CaseIterable, Sendable {
  /// The whole 16-bit range onto 0...255: v * 255 / 65535, rounded.
  case full
  /// 0...the image's largest sample onto 0...255: v * 255 / max, rounded (an all-zero image stays 0),
  /// for images that use a small part of the range, such as microscopy.
  case max
}

/// PNG (libpng's simplified API), JPEG (libjpeg) and baseline TIFF (`TIFF`) decoding from memory.
/// The header is read first, and its size checked against the limits, before the pixel buffer is
/// allocated.
public enum ImageDecoder {
  public enum Format: Sendable { case png, jpeg, tiff }

  /// The format from the file's first bytes, or nil.
  public static func format(of bytes: [UInt8]) -> Format? {
    if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
    if bytes.starts(with: [0xFF, 0xD8, 0xFF]) { return .jpeg }
    if TIFF.isTIFF(bytes) { return .tiff }
    return nil
  }

  /// (width, height, channels in the file: 1 grey, 3 colour; alpha is not counted).
  public static func header(_ bytes: [UInt8], file: String) throws -> (width: Int, height: Int, channels: Int) {
    switch format(of: bytes) {
    case .png:
      return try withPNG(bytes, file: file) { image in
        (
          Int(image.pointee.width), Int(image.pointee.height),
          image.pointee.format & 2 /* PNG_FORMAT_FLAG_COLOR */ != 0 ? 3 : 1
        )
      }
    case .jpeg:
      let info = try jpeg(bytes, channels: 1, out: nil, file: file)
      return (info.width, info.height, info.components == 1 ? 1 : 3)
    case .tiff:
      return try TIFF.header(bytes, file: file)
    case nil:
      throw ImportError(.unrecognised, file, "not a PNG, JPEG or TIFF image")
    }
  }

  /// Decodes to `channels` (1: grey, 3: RGB) bytes per pixel; alpha is composited onto black;
  /// 16-bit samples become bytes as `sixteenBit` says.
  public static func decode(
    _ bytes: [UInt8], channels: Int, file: String,
    limits: ImportLimits = .standard, sixteenBit scale: SixteenBitScale = .full
  ) throws -> DecodedImage {
    precondition(channels == 1 || channels == 3, "channels must be 1 or 3")
    switch format(of: bytes) {
    case .png:
      return try withPNG(bytes, file: file) { image in
        let size = try checkedSize(
          Int(image.pointee.width), Int(image.pointee.height), channels, file: file, limits: limits)
        try checkPNGData(bytes, file: file)
        // PNG_FORMAT_GRAY = 0, PNG_FORMAT_FLAG_COLOR = 2, PNG_FORMAT_FLAG_LINEAR = 4 (macros Swift cannot
        // import). libpng takes 16-bit samples as linear light and would gamma-encode them on the way
        // to 8 bits, so 16-bit files are read as 16 bits and scaled here: v * 255 / 65535, rounded.
        let sixteenBit = image.pointee.format & 4 != 0
        image.pointee.format = (channels == 1 ? 0 : 2) | (sixteenBit ? 4 : 0)
        var black = png_color()  // zero: black
        var pixels: [UInt8]
        if sixteenBit {
          guard canAllocate(3 * size) else {
            throw ImportError(.limitExceeded, file, "cannot allocate the memory for its pixels")
          }
          var wide = [UInt16](repeating: 0, count: size)
          let ok = wide.withUnsafeMutableBytes { png_image_finish_read(image, &black, $0.baseAddress, 0, nil) }
          guard ok != 0 else { throw ImportError(.malformed, file, "damaged PNG: \(pngMessage(image))") }
          pixels = bytesFromSixteenBit(wide, scale: scale)
        } else {
          pixels = try allocate(size, file: file)
          let ok = pixels.withUnsafeMutableBytes { png_image_finish_read(image, &black, $0.baseAddress, 0, nil) }
          guard ok != 0 else { throw ImportError(.malformed, file, "damaged PNG: \(pngMessage(image))") }
        }
        return DecodedImage(
          width: Int(image.pointee.width), height: Int(image.pointee.height), channels: channels, pixels: pixels)
      }
    case .jpeg:
      let info = try jpeg(bytes, channels: channels, out: nil, file: file, limits: limits)
      let size = try checkedSize(info.width, info.height, channels, file: file, limits: limits)
      var pixels = try allocate(size, file: file)
      try pixels.withUnsafeMutableBufferPointer { buffer in
        _ = try jpeg(bytes, channels: channels, out: buffer, file: file, limits: limits)
      }
      return DecodedImage(width: info.width, height: info.height, channels: channels, pixels: pixels)
    case .tiff:
      return try decodeTIFF(bytes, channels: channels, file: file, limits: limits, sixteenBit: scale)
    case nil:
      throw ImportError(.unrecognised, file, "not a PNG, JPEG or TIFF image")
    }
  }

  /// The pixel buffer, after asking the allocator.
  private static func allocate(_ size: Int, file: String) throws -> [UInt8] {
    guard canAllocate(size) else {
      throw ImportError(.limitExceeded, file, "cannot allocate the \(size) bytes of memory for its pixels")
    }
    return [UInt8](repeating: 0, count: size)
  }

  /// A PNG's pixels are deflated, which shrinks data at most 1032-fold: a file too small to hold
  /// the rows its header (IHDR, always the first chunk) declares is refused before they are allocated.
  private static func checkPNGData(_ bytes: [UInt8], file: String) throws {
    guard bytes.count >= 29 else { return }  // libpng has read the header, so it is there
    let field = { (at: Int) in (0..<4).reduce(0) { $0 << 8 | Int(bytes[at + $1]) } }
    let (width, height, depth, colour) = (field(16), field(20), Int(bytes[24]), Int(bytes[25]))
    let samples = [0: 1, 2: 3, 3: 1, 4: 2, 6: 4][colour] ?? 1
    // Interlaced rows come in seven passes of fewer pixels: half the plain size is a safe floor.
    let rowBytes = (width * samples * depth + 7) / 8
    let rawBytes = height * (rowBytes + 1) / (bytes[28] == 0 ? 1 : 2)
    guard rawBytes / 1032 <= bytes.count else {
      throw ImportError(
        .truncated,
        file,
        "PNG of \(bytes.count) bytes cannot hold its \(width)x\(height) image (\(rawBytes) bytes; deflate expands at most 1032-fold)"
      )
    }
  }

  private static func checkedSize(
    _ width: Int, _ height: Int, _ channels: Int, file: String,
    limits: ImportLimits
  ) throws -> Int {
    guard width > 0, height > 0, width * height <= limits.maxImagePixels,
      let size = checkedProduct([width, height, channels])
    else {
      throw ImportError(
        .limitExceeded,
        file, "image size \(width)x\(height) is empty or over the limit of \(limits.maxImagePixels) pixels")
    }
    return size
  }

  /// Runs `body` on a png_image opened on `bytes`. libpng keeps pointers to both the image
  /// struct and the bytes until the read finishes, so both stay pinned for the whole call.
  private static func withPNG<T>(
    _ bytes: [UInt8], file: String,
    _ body: (UnsafeMutablePointer<png_image>) throws -> T
  ) throws -> T {
    let image = UnsafeMutablePointer<png_image>.allocate(capacity: 1)
    image.initialize(to: png_image())
    defer {
      png_image_free(image)
      image.deallocate()
    }
    image.pointee.version = 1  // PNG_IMAGE_VERSION
    return try bytes.withUnsafeBytes { buffer in
      guard png_image_begin_read_from_memory(image, buffer.baseAddress, buffer.count) != 0 else {
        throw ImportError(.malformed, file, "damaged PNG: \(pngMessage(image))")
      }
      return try body(image)
    }
  }

  private static func pngMessage(_ image: UnsafeMutablePointer<png_image>) -> String {
    withUnsafeBytes(of: &image.pointee.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
  }

  /// What libjpeg may allocate for itself: a progressive image's coefficients, two bytes for each
  /// of three components of the largest image allowed.
  private static func libjpegMemory(_ limits: ImportLimits) -> Int { 6 * limits.maxImagePixels + (1 << 24) }

  private static func jpeg(
    _ bytes: [UInt8], channels: Int, out: UnsafeMutableBufferPointer<UInt8>?,
    file: String, limits: ImportLimits = .standard
  ) throws -> (width: Int, height: Int, components: Int) {
    var width: Int32 = 0, height: Int32 = 0, components: Int32 = 0
    var message = [CChar](repeating: 0, count: 256)
    let status = bytes.withUnsafeBufferPointer { data in
      kswap_jpeg_decode(
        data.baseAddress, UInt(data.count), Int32(channels), out?.baseAddress, out?.count ?? 0,
        libjpegMemory(limits), &width, &height, &components, &message, message.count)
    }
    guard status == 0 else {
      let text = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
      throw ImportError(.malformed, file, "damaged JPEG: \(text)")
    }
    return (Int(width), Int(height), Int(components))
  }
}
