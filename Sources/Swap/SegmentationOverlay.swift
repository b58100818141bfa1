// Pictures of a segmentation model's work (kswap-eval --overlay), the paper's Figure 5 in kind: an
// image, its true classes and the predicted ones side by side, each class in a fixed colour.

import Importers
import TensorFile

/// The colour of each model row: the PASCAL VOC colour map, whose colours follow from the row number
/// alone (its bits spread over the three channels' high bits: 0 black, 1 dark red, 2 dark green, 3
/// olive, 4 dark blue, ...), and VOC's cream (224, 224, 192) for ignored pixels.
public enum SegmentationPalette {
  public static func colour(_ value: Int) -> (red: UInt8, green: UInt8, blue: UInt8) {
    if value == Int(DatasetLayout.ignoreLabel) { return (224, 224, 192) }
    var (red, green, blue) = (0, 0, 0)
    var label = value
    for shift in stride(from: 7, through: 0, by: -1) {
      red |= (label & 1) << shift
      green |= ((label >> 1) & 1) << shift
      blue |= ((label >> 2) & 1) << shift
      label >>= 3
    }
    return (UInt8(red), UInt8(green), UInt8(blue))
  }

  /// "#rrggbb".
  public static func hex(_ value: Int) -> String {
    let (r, g, b) = colour(value)
    return "#" + [r, g, b].map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
  }
}

/// One overlay picture: image `index` of `set` (its stored pixels: grey, or the first three channels as
/// RGB), its true classes (`set`'s mask, model rows) and `prediction` (its H·W predicted rows), side by
/// side with 4-pixel white gaps, each panel enlarged by whole pixels (nearest) to at least 96 pixels on
/// its longer side. Returns the PNG file's bytes; `file` names it in errors.
public func overlayPicture(_ set: SegmentedImages, index: Int, prediction: ArraySlice<UInt8>, file: String) throws
  -> [UInt8]
{
  let (h, w, plane) = (set.height, set.width, set.pixelsPerMask)
  precondition(prediction.count == plane, "\(prediction.count) predictions for a \(h)x\(w) image")
  let scale = max(1, (96 + max(h, w) - 1) / max(h, w)), gap = 4
  let (panelWidth, panelHeight) = (w * scale, h * scale)
  let width = 3 * panelWidth + 2 * gap
  var rgb = [UInt8](repeating: 255, count: width * panelHeight * 3)
  func sample(_ channel: Int, _ pixel: Int) -> UInt8 {
    let at = index * set.imageSize + channel * plane + pixel
    switch set.pixels {
    case .bytes(let bytes): return bytes[at]
    case .floats(let floats): return UInt8((min(max(floats[at], 0), 1) * 255).rounded())
    }
  }
  let truth = set.masks[(index * plane)..<((index + 1) * plane)]
  for y in 0..<panelHeight {
    for x in 0..<panelWidth {
      let pixel = (y / scale) * w + x / scale
      let grey = set.channels < 3
      let image = (sample(0, pixel), sample(grey ? 0 : 1, pixel), sample(grey ? 0 : 2, pixel))
      let colours = [
        image, SegmentationPalette.colour(Int(truth[truth.startIndex + pixel])),
        SegmentationPalette.colour(Int(prediction[prediction.startIndex + pixel])),
      ]
      for (panel, colour) in colours.enumerated() {
        let at = (y * width + panel * (panelWidth + gap) + x) * 3
        (rgb[at], rgb[at + 1], rgb[at + 2]) = colour
      }
    }
  }
  return try PNGEncoder.encode(rgb, width: width, height: panelHeight, channels: 3, file: file)
}
