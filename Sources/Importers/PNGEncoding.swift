// Writing PNG files (kswap-eval's overlays) through libpng's simplified API, as ImageDecoder reads them.

import CPNG

public enum PNGEncoder {
  /// The PNG file of `width` x `height` 8-bit pixels of `channels` samples (1: grey, 3: RGB), row-major;
  /// `file` names the output in errors.
  public static func encode(_ pixels: [UInt8], width: Int, height: Int, channels: Int, file: String) throws -> [UInt8] {
    precondition(channels == 1 || channels == 3, "channels must be 1 or 3")
    precondition(width > 0 && height > 0 && pixels.count == width * height * channels, "pixels do not fit the size")
    var message = [CChar](repeating: 0, count: 256)
    func fail() -> ImportError {
      ImportError(
        .io,
        file,
        "cannot encode the PNG: "
          + String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
    var size = 0
    let measured = pixels.withUnsafeBufferPointer {
      kswap_png_encode($0.baseAddress, UInt32(width), UInt32(height), Int32(channels), nil, &size, &message, 256)
    }
    guard measured == 0 else { throw fail() }
    var bytes = [UInt8](repeating: 0, count: size)
    let written = pixels.withUnsafeBufferPointer { source in
      bytes.withUnsafeMutableBufferPointer {
        kswap_png_encode(
          source.baseAddress, UInt32(width), UInt32(height), Int32(channels), $0.baseAddress, &size, &message, 256)
      }
    }
    guard written == 0 else { throw fail() }
    return Array(bytes.prefix(size))
  }
}
