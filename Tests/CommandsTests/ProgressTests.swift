// The progress line: redrawn with rate and ETA on a terminal, one log line per epoch otherwise.

import Testing
import ToolSupport

/// A clock the test moves by hand.
final class ManualClock: @unchecked Sendable {
  var now = 1000.0
}

@Suite struct ProgressTests {
  func event(step: Int, epoch: Int = 1, loss: Double = 0.5) -> ProgressEvent {
    ProgressEvent(stage: "learn", epoch: epoch, epochs: 2, step: step, steps: 100, values: [("loss", loss)])
  }

  @Test func terminalRedrawsOneLineWithRateAndETA() {
    let clock = ManualClock()
    let result = capture(stderrIsTerminal: true) { () -> Int32 in
      let progress = ProgressReporter(tool: "kswap-learn", quiet: false, clock: { clock.now })
      progress.update(event(step: 0))
      clock.now += 2
      progress.update(event(step: 50, loss: 0.25))
      clock.now += 0.01  // too soon to redraw
      progress.update(event(step: 51))
      progress.finish()
      return 0
    }
    #expect(
      result.standardError.contains("\rkswap-learn: learn  epoch 1/2  step 50/100  loss 0.25  25.0 steps/s  ETA 6s"))
    #expect(!result.standardError.contains("step 51/100"))
    #expect(!result.standardError.contains("\n"))
    #expect(result.standardError.hasSuffix("\r"))
  }

  @Test func pipeGetsOnePlainLinePerEpoch() {
    let clock = ManualClock()
    let result = capture(stderrIsTerminal: false) { () -> Int32 in
      let progress = ProgressReporter(tool: "kswap-learn", quiet: false, clock: { clock.now })
      for step in 0...100 {
        clock.now += 0.1
        progress.update(event(step: step))
      }
      progress.endEpoch(event(step: 100, loss: 0.125))
      progress.finish()
      return 0
    }
    // The ETA covers the epoch still to come.
    #expect(result.standardError == "kswap-learn: learn  epoch 1/2  step 100/100  loss 0.125  10.0 steps/s  ETA 10s\n")
  }

  @Test func rateIsMeasuredWithinEachEpoch() {
    let clock = ManualClock()
    let result = capture(stderrIsTerminal: false) { () -> Int32 in
      let progress = ProgressReporter(tool: "kswap-learn", quiet: false, clock: { clock.now })
      for epoch in 1...2 {
        for step in 1...100 {
          clock.now += epoch == 1 ? 0.1 : 0.05  // the second epoch runs twice as fast
          progress.update(event(step: step, epoch: epoch))
        }
        progress.endEpoch(event(step: 100, epoch: epoch))
        clock.now += 60  // a long evaluation between epochs must not count
      }
      return 0
    }
    let lines = result.standardError.split(separator: "\n")
    #expect(lines.count == 2)
    #expect(lines.last?.hasSuffix("step 100/100  loss 0.5  20.0 steps/s") == true, "\(lines)")
  }

  @Test func quietPrintsNothing() {
    let result = capture(stderrIsTerminal: true) { () -> Int32 in
      let progress = ProgressReporter(tool: "kswap-learn", quiet: true)
      progress.update(event(step: 1))
      progress.endEpoch(event(step: 100))
      progress.message("wrote adapter.kst")
      progress.finish()
      return 0
    }
    #expect(result.standardError.isEmpty)
  }

  @Test func messagesClearTheLiveLineFirst() {
    let clock = ManualClock()
    let result = capture(stderrIsTerminal: true) { () -> Int32 in
      let progress = ProgressReporter(tool: "kswap-pack", quiet: false, clock: { clock.now })
      progress.update(ProgressEvent(stage: "pack", step: 1, steps: 3))
      progress.message("wrote out.kst")
      return 0
    }
    #expect(
      result.standardError.hasSuffix("\r\rkswap-pack: wrote out.kst\n")
        || result.standardError.hasSuffix("\rkswap-pack: wrote out.kst\n"))
  }
}
