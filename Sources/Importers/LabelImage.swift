import CPNG

/// A mask as stored: one unsigned integer per pixel (a class number or an instance id), row-major.
public struct LabelImage: Equatable, Sendable {
  public var width: Int
  public var height: Int
  public var values: [UInt16]
}

extension ImageDecoder {
  /// A mask file's values exactly as stored: a grey or palette PNG (the sample or the palette index,
  /// 1 to 16 bits, no gamma or colour conversion) or a one-sample TIFF (8 or 16 bits). Colour masks
  /// and JPEG (lossy: it changes values) are refused.
  public static func decodeLabels(_ bytes: [UInt8], file: String, limits: ImportLimits = .standard) throws
    -> LabelImage
  {
    switch format(of: bytes) {
    case .png:
      let header = try pngSamples(bytes, out: nil, file: file)
      guard header.colorType == 0 || header.colorType == 3 else {
        let kinds = [2: "RGB", 4: "grey with alpha", 6: "RGB with alpha"]
        throw ImportError(
          .unsupported,
          file,
          "a mask PNG must be grey or palette (one class number per pixel); this one is \(kinds[header.colorType] ?? "colour type \(header.colorType)")"
        )
      }
      let pixels = try checkedMaskSize(header.width, header.height, file: file, limits: limits)
      let wide = header.bitDepth == 16
      var raw = [UInt8](repeating: 0, count: pixels * (wide ? 2 : 1))
      try raw.withUnsafeMutableBufferPointer { _ = try pngSamples(bytes, out: $0, file: file) }
      let values =
        wide
        ? raw.withUnsafeBytes { buffer in (0..<pixels).map { buffer.load(fromByteOffset: 2 * $0, as: UInt16.self) } }
        : raw.map { UInt16($0) }
      return LabelImage(width: header.width, height: header.height, values: values)
    case .tiff:
      let image = try TIFF.read(bytes, file: file, limits: limits)
      guard image.channels == 1 else {
        throw ImportError(
          .unsupported, file, "a mask TIFF must have one sample per pixel (a class number); this one is RGB")
      }
      return LabelImage(width: image.width, height: image.height, values: image.samples)
    case .jpeg:
      throw ImportError(
        .unsupported, file, "a mask cannot be JPEG: its lossy compression changes class numbers (use PNG or TIFF)")
    case nil:
      throw ImportError(.unrecognised, file, "not a PNG or TIFF mask")
    }
  }

  private static func checkedMaskSize(_ width: Int, _ height: Int, file: String, limits: ImportLimits) throws -> Int {
    guard width > 0, height > 0, let pixels = checkedProduct([width, height]), pixels <= limits.maxImagePixels else {
      throw ImportError(
        .limitExceeded,
        file, "image size \(width)x\(height) is empty or over the limit of \(limits.maxImagePixels) pixels")
    }
    return pixels
  }

  /// kswap_png_decode_samples (CPNG's shim): the header when `out` is nil, else the samples too.
  private static func pngSamples(_ bytes: [UInt8], out: UnsafeMutableBufferPointer<UInt8>?, file: String) throws
    -> (width: Int, height: Int, bitDepth: Int, colorType: Int)
  {
    var width: UInt32 = 0, height: UInt32 = 0
    var bitDepth: Int32 = 0, colorType: Int32 = 0, channels: Int32 = 0
    var message = [CChar](repeating: 0, count: 256)
    let status = bytes.withUnsafeBufferPointer { data in
      kswap_png_decode_samples(
        data.baseAddress, data.count, out?.baseAddress, out?.count ?? 0, &width, &height, &bitDepth, &colorType,
        &channels, &message, message.count)
    }
    guard status == 0 else {
      let text = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
      throw ImportError(.malformed, file, "damaged PNG: \(text)")
    }
    return (Int(width), Int(height), Int(bitDepth), Int(colorType))
  }
}
