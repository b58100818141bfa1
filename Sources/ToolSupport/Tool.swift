// The one place that turns a command's outcome into an exit status, shared by every kswap tool.

import ArgumentParser
import Glibc

/// A kswap command-line tool: an ArgumentParser command run with kswap's exit statuses.
///
/// | status | meaning |
/// |---|---|
/// | 0 | success (also `--help`, `--version`) |
/// | 1 | a "no" answer: the command throws `ExitCode.failure` after printing its answer |
/// | 2 | bad input or a failure: any other error, printed as `kswap-<tool>: error: <message>` |
/// | 64 | usage error: ArgumentParser's own (unknown option, bad value, `ValidationError`) |
///
/// A tool's executable is two lines, `import FileCommands` and `Inspect.main()`; tests call
/// `Inspect.execute([...])` in-process with `Console.current` bound to captured streams.
public protocol Tool: ParsableCommand {}

extension Tool {
  /// The executable's name, `kswap-<verb>`, used as the prefix of every message.
  public static var toolName: String {
    configuration.commandName ?? _commandName
  }

  /// Parses the process's arguments, runs the command and exits with its status.
  public static func main() {
    Glibc.exit(execute(Array(CommandLine.arguments.dropFirst())))
  }

  /// Parses `arguments`, runs the command and returns its exit status; all output goes through
  /// `Console.current`.
  public static func execute(_ arguments: [String]) -> Int32 {
    do {
      var command = try parseAsRoot(arguments)
      try command.run()
      return 0
    } catch {
      return report(error)
    }
  }

  /// Prints what `error` calls for and returns the exit status.
  ///
  /// ArgumentParser wraps errors thrown by `validate()` and raises help and version requests as
  /// errors too; it tells them apart: help and version are successes, its parse and validation errors
  /// are usage errors, and anything else it calls a failure, which for kswap means status 2.
  static func report(_ error: Error) -> Int32 {
    if let code = error as? ExitCode { return code.rawValue }
    let status = exitCode(for: error)
    guard status == .failure else { return reportArgumentParserOutcome(error) }
    let text = message(for: error)
    // An ExitCode thrown from validate() arrives wrapped, with no message: a silent "no".
    if text.isEmpty { return status.rawValue }
    Console.current.diagnostic("\(toolName): error: \(text)")
    return 2
  }

  /// Help and version text go to stdout with status 0; usage errors to stderr with status 64.
  static func reportArgumentParserOutcome(_ error: Error) -> Int32 {
    let status = exitCode(for: error).rawValue
    let text = fullMessage(for: error)
    if status == 0 {
      if !text.isEmpty { Console.current.write(text + "\n") }
    } else {
      Console.current.diagnostic(text)
    }
    return status
  }
}
