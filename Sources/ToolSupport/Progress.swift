// The progress line of long work: redrawn on a terminal, a plain log line per epoch otherwise.

import Glibc

/// Where a long job stands: which stage, epoch and step, and the values worth watching.
public struct ProgressEvent: Sendable {
  public var stage: String
  public var epoch: Int?
  public var epochs: Int?
  /// The step within the current epoch (or within the stage when there are no epochs).
  public var step: Int
  /// Steps per epoch (or in the stage).
  public var steps: Int?
  /// Shown in order as `name value`, e.g. `[("loss", 0.41), ("acc", 0.93)]`.
  public var values: [(String, Double)]

  public init(
    stage: String, epoch: Int? = nil, epochs: Int? = nil, step: Int, steps: Int? = nil,
    values: [(String, Double)] = []
  ) {
    self.stage = stage
    self.epoch = epoch
    self.epochs = epochs
    self.step = step
    self.steps = steps
    self.values = values
  }
}

/// Reports `ProgressEvent`s on stderr, the way every kswap tool does.
///
/// On a terminal `update(_:)` redraws one line (stage, epoch, step, values, rate, ETA) at most
/// `redrawInterval` times a second; `endEpoch(_:)` leaves the epoch's last line standing. When stderr
/// is not a terminal, updates print nothing and `endEpoch(_:)` prints one plain line, so logs stay
/// short. With `quiet` nothing is printed. The clock is injectable so tests can pin rates and ETAs.
///
///     let progress = ProgressReporter(tool: Self.toolName, quiet: quiet.quiet)
///     progress.update(ProgressEvent(stage: "learn", epoch: 1, epochs: 5, step: 10, steps: 200, values: [("loss", l)]))
///     progress.endEpoch(event)
///     progress.finish()
public final class ProgressReporter {
  private let tool: String
  private let console: Console
  private let quiet: Bool
  private let clock: () -> Double
  private let redrawInterval: Double
  /// Where the current stage and epoch began: rates are measured within one epoch, so the time
  /// spent between epochs (evaluation, checkpoints) does not dilute them.
  private var window: (stage: String, epoch: Int?, time: Double, step: Int)?
  private var lastDraw = -Double.infinity
  private var lineWidth = 0

  public init(
    tool: String, quiet: Bool, console: Console = .current, redrawInterval: Double = 0.1,
    clock: @escaping () -> Double = ProgressReporter.monotonicSeconds
  ) {
    self.tool = tool
    self.quiet = quiet
    self.console = console
    self.redrawInterval = redrawInterval
    self.clock = clock
  }

  /// The default clock: seconds that only move forward, so a rate cannot jump when the wall clock is set.
  public static func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
  }

  /// Whether updates are drawn as a live line.
  public var isLive: Bool { !quiet && console.standardErrorIsTerminal }

  /// A step has finished; redraws the live line when it is due.
  public func update(_ event: ProgressEvent) {
    let now = clock()
    note(event, now: now)
    guard isLive, now - lastDraw >= redrawInterval || event.step == event.steps else { return }
    lastDraw = now
    draw(line(event, now: now))
  }

  /// An epoch (or a whole stage) has finished: its line stays on a terminal, or is logged otherwise.
  public func endEpoch(_ event: ProgressEvent) {
    let now = clock()
    note(event, now: now)
    guard !quiet else { return }
    if isLive {
      draw(line(event, now: now))
      console.writeError("\n")
      lineWidth = 0
    } else {
      console.diagnostic("\(tool): \(line(event, now: now))")
    }
    lastDraw = -Double.infinity
  }

  /// Prints an informational message on its own line (not with `-q`).
  public func message(_ text: String) {
    guard !quiet else { return }
    clearLine()
    console.diagnostic("\(tool): \(text)")
  }

  /// Clears a live line left unfinished.
  public func finish() {
    clearLine()
  }

  /// The text of one progress line, without the tool prefix.
  func line(_ event: ProgressEvent, now: Double) -> String {
    var parts = [event.stage]
    if let epoch = event.epoch {
      parts.append(event.epochs.map { "epoch \(epoch)/\($0)" } ?? "epoch \(epoch)")
    }
    parts.append(event.steps.map { "step \(event.step)/\($0)" } ?? "step \(event.step)")
    for (name, value) in event.values { parts.append("\(name) \(formatValue(value))") }
    if let rate = rate(event, now: now) {
      parts.append(formatFixed(rate, digits: 1) + " steps/s")
      if let remaining = remainingSteps(event), remaining > 0, rate > 0 {
        parts.append("ETA " + formatDuration(Double(remaining) / rate))
      }
    }
    return parts.joined(separator: "  ")
  }

  private func note(_ event: ProgressEvent, now: Double) {
    if window?.stage != event.stage || window?.epoch != event.epoch {
      window = (event.stage, event.epoch, now, event.step)
    }
  }

  /// Steps per second since the first report of this epoch; nil until there is something to measure.
  private func rate(_ event: ProgressEvent, now: Double) -> Double? {
    guard let window, now - window.time > 0.001, event.step > window.step else { return nil }
    return Double(event.step - window.step) / (now - window.time)
  }

  /// Steps left in this epoch plus those of the epochs after it.
  private func remainingSteps(_ event: ProgressEvent) -> Int? {
    guard let steps = event.steps else { return nil }
    let laterEpochs = event.epoch.flatMap { epoch in event.epochs.map { max(0, $0 - epoch) } } ?? 0
    return max(0, steps - event.step) + laterEpochs * steps
  }

  private func draw(_ text: String) {
    let full = "\(tool): \(text)"
    let padding = max(0, lineWidth - full.count)
    console.writeError("\r" + full + String(repeating: " ", count: padding))
    lineWidth = full.count
  }

  private func clearLine() {
    guard lineWidth > 0 else { return }
    console.writeError("\r" + String(repeating: " ", count: lineWidth) + "\r")
    lineWidth = 0
  }
}

/// Four significant digits, so a loss and an accuracy read the same way in every tool.
func formatValue(_ value: Double) -> String {
  formatSignificant(value, digits: 4)
}

/// `42s`, `3m07s`, `2h05m`.
func formatDuration(_ seconds: Double) -> String {
  guard seconds.isFinite else { return "?" }
  let total = Int(seconds.rounded())
  if total < 60 { return "\(total)s" }
  if total < 3600 { return "\(total / 60)m" + twoDigits(total % 60) + "s" }
  return "\(total / 3600)h" + twoDigits((total % 3600) / 60) + "m"
}

private func twoDigits(_ value: Int) -> String {
  value < 10 ? "0\(value)" : "\(value)"
}
