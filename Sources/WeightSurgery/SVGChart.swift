// A self-contained SVG line chart: one series per file over categories (the blocks), with axes,
// tick labels, axis titles and a legend. Plain text out, no dependencies.

import Foundation

public struct SVGChart: Sendable {
  public struct Series: Sendable {
    public var name: String
    /// One value per category; nil leaves a gap.
    public var values: [Double?]
    public init(name: String, values: [Double?]) {
      self.name = name
      self.values = values
    }
  }

  public var title: String
  public var xLabel: String
  public var yLabel: String
  public var categories: [String]
  public var series: [Series]
  public var width = 820.0
  public var height = 460.0

  public init(title: String, xLabel: String, yLabel: String, categories: [String], series: [Series]) {
    self.title = title
    self.xLabel = xLabel
    self.yLabel = yLabel
    self.categories = categories
    self.series = series
  }

  /// Okabe-Ito colours: distinguishable with colour-vision deficiencies.
  static let palette = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]
  static let markers = ["circle", "square", "diamond", "triangle"]

  public func render() -> String {
    let legendRowHeight = 18.0
    let legendHeight = Double(series.count) * legendRowHeight + 8
    let left = 78.0, right = 24.0, top = 44.0 + legendHeight, bottom = 58.0
    let plotWidth = width - left - right, plotHeight = max(80, height - top - bottom)
    let totalHeight = top + plotHeight + bottom

    let finite = series.flatMap { $0.values.compactMap { $0 } }.filter(\.isFinite)
    let ticks = SVGChart.niceTicks(low: min(0, finite.min() ?? 0), high: max(finite.max() ?? 1, 0))
    let yLow = ticks.first!, yHigh = ticks.last!
    let count = max(categories.count, 1)
    let step = plotWidth / Double(count)
    func x(_ i: Int) -> Double { left + step * (Double(i) + 0.5) }
    func y(_ v: Double) -> Double { top + plotHeight * (1 - (v - yLow) / (yHigh - yLow)) }

    var svg = """
      <?xml version="1.0" encoding="UTF-8"?>
      <svg xmlns="http://www.w3.org/2000/svg" width="\(f(width))" height="\(f(totalHeight))" \
      viewBox="0 0 \(f(width)) \(f(totalHeight))" font-family="sans-serif" font-size="12">
      <rect width="100%" height="100%" fill="white"/>
      <text x="\(f(width / 2))" y="24" text-anchor="middle" font-size="16" font-weight="bold">\(esc(title))</text>

      """
    // Grid lines and y tick labels.
    for tick in ticks {
      let ty = y(tick)
      svg +=
        "<line x1=\"\(f(left))\" y1=\"\(f(ty))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(ty))\" stroke=\"#dddddd\"/>\n"
      svg += "<text x=\"\(f(left - 6))\" y=\"\(f(ty + 4))\" text-anchor=\"end\">\(esc(SVGChart.label(tick)))</text>\n"
    }
    // Axes.
    svg +=
      "<line x1=\"\(f(left))\" y1=\"\(f(top))\" x2=\"\(f(left))\" y2=\"\(f(top + plotHeight))\" stroke=\"black\"/>\n"
    svg +=
      "<line x1=\"\(f(left))\" y1=\"\(f(top + plotHeight))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(top + plotHeight))\" stroke=\"black\"/>\n"
    // x tick labels: all of them when they fit, else every k-th.
    let every = max(1, Int((Double(categories.count) * 34 / plotWidth).rounded(.up)))
    for (i, category) in categories.enumerated() where i % every == 0 || i == categories.count - 1 {
      svg +=
        "<line x1=\"\(f(x(i)))\" y1=\"\(f(top + plotHeight))\" x2=\"\(f(x(i)))\" y2=\"\(f(top + plotHeight + 5))\" stroke=\"black\"/>\n"
      svg += "<text x=\"\(f(x(i)))\" y=\"\(f(top + plotHeight + 19))\" text-anchor=\"middle\">\(esc(category))</text>\n"
    }
    svg +=
      "<text x=\"\(f(left + plotWidth / 2))\" y=\"\(f(totalHeight - 14))\" text-anchor=\"middle\" font-size=\"13\">\(esc(xLabel))</text>\n"
    svg +=
      "<text transform=\"translate(18 \(f(top + plotHeight / 2))) rotate(-90)\" text-anchor=\"middle\" font-size=\"13\">\(esc(yLabel))</text>\n"

    // Series: a polyline per run of consecutive values, and a marker per value.
    for (s, line) in series.enumerated() {
      let colour = SVGChart.palette[s % SVGChart.palette.count]
      let marker = SVGChart.markers[s % SVGChart.markers.count]
      var run: [String] = []
      func flush() {
        if run.count > 1 {
          svg +=
            "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\" points=\"\(run.joined(separator: " "))\"/>\n"
        }
        run.removeAll()
      }
      for (i, value) in line.values.enumerated() where i < categories.count {
        guard let value, value.isFinite else {
          flush()
          continue
        }
        run.append("\(f(x(i))),\(f(y(value)))")
      }
      flush()
      for (i, value) in line.values.enumerated() where i < categories.count {
        guard let value, value.isFinite else { continue }
        svg += SVGChart.markerShape(
          marker, cx: x(i), cy: y(value), colour: colour,
          title: "\(line.name) \(categories[i]): \(SVGChart.label(value))")
      }
    }
    // Legend, above the plot.
    for (s, line) in series.enumerated() {
      let colour = SVGChart.palette[s % SVGChart.palette.count]
      let marker = SVGChart.markers[s % SVGChart.markers.count]
      let ly = 44.0 + Double(s) * legendRowHeight
      svg +=
        "<line x1=\"\(f(left))\" y1=\"\(f(ly))\" x2=\"\(f(left + 28))\" y2=\"\(f(ly))\" stroke=\"\(colour)\" stroke-width=\"2\"/>\n"
      svg += SVGChart.markerShape(marker, cx: left + 14, cy: ly, colour: colour, title: nil)
      svg += "<text x=\"\(f(left + 36))\" y=\"\(f(ly + 4))\">\(esc(line.name))</text>\n"
    }
    svg += "</svg>\n"
    return svg
  }

  static func markerShape(_ kind: String, cx: Double, cy: Double, colour: String, title: String?) -> String {
    let tooltip = title.map { "<title>\(esc($0))</title>" } ?? ""
    let close =
      tooltip.isEmpty
      ? "/>\n" : ">\(tooltip)</\(kind == "circle" ? "circle" : kind == "square" ? "rect" : "polygon")>\n"
    switch kind {
    case "square":
      return "<rect x=\"\(f(cx - 3.5))\" y=\"\(f(cy - 3.5))\" width=\"7\" height=\"7\" fill=\"\(colour)\"" + close
    case "diamond":
      return
        "<polygon points=\"\(f(cx)),\(f(cy - 4.5)) \(f(cx + 4.5)),\(f(cy)) \(f(cx)),\(f(cy + 4.5)) \(f(cx - 4.5)),\(f(cy))\" fill=\"\(colour)\""
        + close
    case "triangle":
      return
        "<polygon points=\"\(f(cx)),\(f(cy - 4.5)) \(f(cx + 4.5)),\(f(cy + 3.5)) \(f(cx - 4.5)),\(f(cy + 3.5))\" fill=\"\(colour)\""
        + close
    default:
      return "<circle cx=\"\(f(cx))\" cy=\"\(f(cy))\" r=\"4\" fill=\"\(colour)\"" + close
    }
  }

  /// Round tick values (1, 2, 2.5, 5 x 10^k) covering [low, high], 4 to 8 of them.
  static func niceTicks(low: Double, high: Double) -> [Double] {
    var low = low, high = high
    if !(high > low) { high = low + (low == 0 ? 1 : abs(low)) }
    let rough = (high - low) / 5
    let magnitude = pow(10, floor(log10(rough)))
    let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= rough } ?? 10 * magnitude
    low = floor(low / step) * step
    high = ceil(high / step) * step
    let first = Int((low / step).rounded()), last = Int((high / step).rounded())
    // Printing through %.12g drops binary noise such as 0.6000000000000001.
    return (first...max(first + 1, last)).map { Double(String(format: "%.12g", Double($0) * step))! }
  }

  static func label(_ v: Double) -> String {
    if v == 0 { return "0" }
    let a = abs(v)
    if a >= 1e5 || a < 1e-3 { return String(format: "%.2g", v) }
    var s = String(format: "%.4g", v)
    if s.contains("."), !s.contains("e") {
      while s.hasSuffix("0") { s.removeLast() }
      if s.hasSuffix(".") { s.removeLast() }
    }
    return s
  }
}

private func f(_ v: Double) -> String { String(format: "%.1f", v) }

private func esc(_ s: String) -> String {
  var out = ""
  for scalar in s.unicodeScalars {
    switch scalar {
    case "&": out += "&amp;"
    case "<": out += "&lt;"
    case ">": out += "&gt;"
    case "\"": out += "&quot;"
    default:
      // XML 1.0 forbids most control characters even escaped; drop them.
      if scalar.value < 0x20 && scalar != "\t" { continue }
      out.unicodeScalars.append(scalar)
    }
  }
  return out
}

extension SVGChart {
  /// The y-axis ticks the chart would draw for values in [low, high].
  public static func yTicks(low: Double, high: Double) -> [Double] { niceTicks(low: low, high: high) }
}
