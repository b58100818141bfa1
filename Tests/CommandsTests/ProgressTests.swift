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
    #expect(result.standardError.contains("\rkswap-learn: learn  epoch 1/2  step 50/100  loss 0.25  25.0 steps/s  ETA 2s"))
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
    #expect(result.standardError == "kswap-learn: learn  epoch 1/2  step 100/100  loss 0.125  10.0 steps/s\n")
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
    #expect(result.standardError.hasSuffix("\r\rkswap-pack: wrote out.kst\n") || result.standardError.hasSuffix("\rkswap-pack: wrote out.kst\n"))
  }
}
