// Writing PNG files (kswap-eval --overlay): what PNGEncoder writes, libpng reads back exactly.

import Importers
import Testing

@Suite struct PNGEncodingTests {
  @Test func rgbAndGreyRoundTripExactly() throws {
    let rgb = (0..<(5 * 3 * 3)).map { UInt8(($0 * 37) % 256) }
    let file = try PNGEncoder.encode(rgb, width: 5, height: 3, channels: 3, file: "p.png")
    #expect(Array(file.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
    #expect(try ImageDecoder.header(file, file: "p.png") == (5, 3, 3))
    // decode gives planes; the encoder took interleaved pixels.
    let planes = try ImageDecoder.decode(file, channels: 3, file: "p.png").planar
    var interleaved = [UInt8](repeating: 0, count: 45)
    for pixel in 0..<15 {
      for channel in 0..<3 { interleaved[pixel * 3 + channel] = planes[channel * 15 + pixel] }
    }
    #expect(interleaved == rgb)
    let grey: [UInt8] = [0, 1, 254, 255, 128, 7]
    let greyFile = try PNGEncoder.encode(grey, width: 3, height: 2, channels: 1, file: "g.png")
    #expect(try ImageDecoder.decode(greyFile, channels: 1, file: "g.png").pixels == grey)
    // The same pixels, the same bytes.
    #expect(try PNGEncoder.encode(rgb, width: 5, height: 3, channels: 3, file: "p.png") == file)
  }
}
