// The shared runner: exit statuses and where each kind of message goes.

import ArgumentParser
import Testing
import ToolSupport

/// A tool whose run() does what its argument says, to exercise every path of the runner.
struct Probe: Tool {
  static let configuration = CommandConfiguration(commandName: "kswap-probe", version: ToolVersion.text())

  @Argument var outcome: String
  @Option var limit = 1

  func validate() throws {
    if limit < 0 { throw ValidationError("--limit must be at least 0") }
    if limit == 99 { throw ToolError(.option, file: "limit.txt", "says 99, expected at most 98") }
  }

  func run() throws {
    switch outcome {
    case "ok": Console.current.write("answer\n")
    case "no": throw ExitCode.failure
    case "bad": throw ToolError(.input, file: "model.safetensors", "tensor `head.weight` has 3 dimensions, expected 2")
    case "usage": throw ValidationError("give one of ok, no, bad")
    default: throw ExitCode(7)
    }
  }
}

@Suite struct ToolTests {
  @Test func successWritesDataToStdout() {
    let result = capture { Probe.execute(["ok"]) }
    #expect(result.status == 0)
    #expect(result.text == "answer\n")
    #expect(result.standardError.isEmpty)
  }

  @Test func noAnswerIsOneAndSilent() {
    let result = capture { Probe.execute(["no"]) }
    #expect(result.status == 1)
    #expect(result.standardError.isEmpty)
  }

  @Test func failureIsTwoWithToolPrefix() {
    let result = capture { Probe.execute(["bad"]) }
    #expect(result.status == 2)
    #expect(
      result.standardError
        == "kswap-probe: error: model.safetensors: tensor `head.weight` has 3 dimensions, expected 2\n")
    #expect(result.standardOutput.isEmpty)
  }

  @Test func toolErrorFromValidateIsBadInput() {
    let result = capture { Probe.execute(["ok", "--limit", "99"]) }
    #expect(result.status == 2)
    #expect(result.standardError.hasPrefix("kswap-probe: error: limit.txt"))
  }

  @Test func usageErrorsAreSixtyFour() {
    for arguments in [["ok", "--no-such-option"], ["ok", "--limit", "x"], ["ok", "--limit=-1"], ["usage"], []] {
      let result = capture { Probe.execute(arguments) }
      #expect(result.status == 64, "arguments \(arguments)")
      #expect(result.standardError.lowercased().contains("usage: kswap-probe"), "arguments \(arguments)")
    }
  }

  @Test func explicitExitCodePassesThrough() {
    #expect(capture { Probe.execute(["other"]) }.status == 7)
  }

  @Test func helpAndVersionGoToStdout() {
    let help = capture { Probe.execute(["--help"]) }
    #expect(help.status == 0)
    #expect(help.text.contains("USAGE: kswap-probe"))
    let version = capture { Probe.execute(["--version"]) }
    #expect(version.status == 0)
    #expect(version.text == "kswap \(ToolVersion.release)\n")
  }

  @Test func versionDetailsFollowTheRelease() {
    #expect(
      ToolVersion.text(details: ["BLAS: OpenBLAS, core SkylakeX, 2 threads"])
        == "kswap \(ToolVersion.release)\nBLAS: OpenBLAS, core SkylakeX, 2 threads")
  }
}
