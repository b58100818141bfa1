/// Image resizing for datasets, per channel plane.
/// - bilinear: PyTorch's `interpolate(mode="bilinear", align_corners=False)` without antialiasing:
///   output pixel centres map to source = (out + 0.5) * in / out - 0.5 (clamped at 0), and the two
///   nearest source pixels on each axis are mixed linearly. Good for enlarging.
/// - area: PyTorch's `interpolate(mode="area")` (adaptive average pooling): output pixel i averages
///   the source pixels floor(i * in / out) ..< ceil((i + 1) * in / out) on each axis. Good for shrinking.
/// U8 images are resized in Float and rounded to the nearest integer (halves away from zero).
public enum ResizeMethod: String, CaseIterable, Sendable {
  case bilinear, area
}

enum Resizer {
  /// Resizes one (inHeight, inWidth) plane.
  static func plane(
    _ source: UnsafeBufferPointer<Float>, _ inHeight: Int, _ inWidth: Int,
    to outHeight: Int, _ outWidth: Int, method: ResizeMethod
  ) -> [Float] {
    var out = [Float](repeating: 0, count: outHeight * outWidth)
    switch method {
    case .bilinear:
      let rows = (0..<outHeight).map { taps($0, inHeight, outHeight) }
      let columns = (0..<outWidth).map { taps($0, inWidth, outWidth) }
      for (y, row) in rows.enumerated() {
        let top = row.low * inWidth, bottom = row.high * inWidth
        for (x, column) in columns.enumerated() {
          let upper = source[top + column.low] * (1 - column.weight) + source[top + column.high] * column.weight
          let lower = source[bottom + column.low] * (1 - column.weight) + source[bottom + column.high] * column.weight
          out[y * outWidth + x] = upper * (1 - row.weight) + lower * row.weight
        }
      }
    case .area:
      for y in 0..<outHeight {
        let y0 = y * inHeight / outHeight, y1 = ((y + 1) * inHeight + outHeight - 1) / outHeight
        for x in 0..<outWidth {
          let x0 = x * inWidth / outWidth, x1 = ((x + 1) * inWidth + outWidth - 1) / outWidth
          var sum: Float = 0
          for sy in y0..<y1 {
            for sx in x0..<x1 { sum += source[sy * inWidth + sx] }
          }
          out[y * outWidth + x] = sum / Float((y1 - y0) * (x1 - x0))
        }
      }
    }
    return out
  }

  /// The two source indices and the weight of the second for output index `index`.
  private static func taps(_ index: Int, _ inSize: Int, _ outSize: Int) -> (low: Int, high: Int, weight: Float) {
    let scale = Float(inSize) / Float(outSize)
    let position = max((Float(index) + 0.5) * scale - 0.5, 0)
    let low = min(Int(position), inSize - 1)
    let high = min(low + 1, inSize - 1)
    return (low, high, position - Float(low))
  }

  /// Resizes planar (C, H, W) bytes.
  static func bytes(
    _ source: [UInt8], channels: Int, _ inHeight: Int, _ inWidth: Int,
    to outHeight: Int, _ outWidth: Int, method: ResizeMethod
  ) -> [UInt8] {
    let floats = source.map { Float($0) }
    return floats.withUnsafeBufferPointer { buffer in
      (0..<channels).flatMap { channel in
        let plane = UnsafeBufferPointer(
          rebasing: buffer[channel * inHeight * inWidth..<(channel + 1) * inHeight * inWidth])
        return Self.plane(plane, inHeight, inWidth, to: outHeight, outWidth, method: method)
          .map { UInt8(min(max($0.rounded(), 0), 255)) }
      }
    }
  }
}

extension Dataset {
  /// Every image resized to height x width.
  public func resized(height outHeight: Int, width outWidth: Int, method: ResizeMethod, file: String) throws -> Dataset
  {
    guard outHeight > 0, outWidth > 0, outHeight <= 1 << 14, outWidth <= 1 << 14 else {
      throw ImportError(.invalidOption, file, "resize target \(outHeight)x\(outWidth) is out of range (1 to 16384)")
    }
    if outHeight == height && outWidth == width { return self }
    var copy = self
    copy.height = outHeight
    copy.width = outWidth
    copy.images = Self.resizing(
      images, count: count, channels: channels, height, width, to: outHeight, outWidth, method: method)
    return copy
  }

  /// `count` images of channels x height x width resized to outHeight x outWidth.
  static func resizing(
    _ images: Pixels, count: Int, channels: Int, _ height: Int, _ width: Int, to outHeight: Int, _ outWidth: Int,
    method: ResizeMethod
  ) -> Pixels {
    let inPlane = height * width
    switch images {
    case .u8(let values):
      var out: [UInt8] = []
      out.reserveCapacity(count * channels * outHeight * outWidth)
      for image in 0..<count {
        let start = image * channels * inPlane
        out += Resizer.bytes(
          Array(values[start..<start + channels * inPlane]), channels: channels,
          height, width, to: outHeight, outWidth, method: method)
      }
      return .u8(out)
    case .f32(let values):
      var out: [Float] = []
      out.reserveCapacity(count * channels * outHeight * outWidth)
      values.withUnsafeBufferPointer { buffer in
        for plane in 0..<(count * channels) {
          out += Resizer.plane(
            UnsafeBufferPointer(rebasing: buffer[plane * inPlane..<(plane + 1) * inPlane]),
            height, width, to: outHeight, outWidth, method: method)
        }
      }
      return .f32(out)
    }
  }
}
