// Where a tool's text and data go, and whether each stream is a terminal: the seam tests override.

import Glibc

/// The three standard streams of a running tool, as file descriptors, plus whether each is a terminal.
///
/// Tools never call `print`: data goes through `write(_:)`/`writeData(_:)` (stdout), human text through
/// `diagnostic(_:)` (stderr). `Console.current` is the process's real streams; a test binds another
/// console with `Console.$current.withValue(console) { ... }` to capture output and fake terminals.
public final class Console: Sendable {
  /// File descriptor that carries data (normally 1).
  public let standardOutput: Int32
  /// File descriptor that carries diagnostics, progress and errors (normally 2).
  public let standardError: Int32
  /// File descriptor that `-` reads (normally 0).
  public let standardInput: Int32
  public let standardOutputIsTerminal: Bool
  public let standardErrorIsTerminal: Bool
  public let standardInputIsTerminal: Bool

  public init(
    standardInput: Int32 = 0, standardOutput: Int32 = 1, standardError: Int32 = 2,
    standardInputIsTerminal: Bool? = nil, standardOutputIsTerminal: Bool? = nil,
    standardErrorIsTerminal: Bool? = nil
  ) {
    self.standardInput = standardInput
    self.standardOutput = standardOutput
    self.standardError = standardError
    self.standardInputIsTerminal = standardInputIsTerminal ?? (isatty(standardInput) == 1)
    self.standardOutputIsTerminal = standardOutputIsTerminal ?? (isatty(standardOutput) == 1)
    self.standardErrorIsTerminal = standardErrorIsTerminal ?? (isatty(standardError) == 1)
  }

  /// The console tools write to: the process's streams unless a test has bound another.
  @TaskLocal public static var current = Console()

  /// Writes text to stdout (the product: a report, a table, JSON).
  public func write(_ text: String) {
    Self.writeAll(standardOutput, Array(text.utf8))
  }

  /// Writes bytes to stdout.
  public func writeData(_ bytes: [UInt8]) {
    Self.writeAll(standardOutput, bytes)
  }

  /// Writes one line of human text to stderr; a newline is added when missing.
  public func diagnostic(_ text: String) {
    Self.writeAll(standardError, Array((text.hasSuffix("\n") ? text : text + "\n").utf8))
  }

  /// Writes text to stderr as is (progress lines redraw with `\r`).
  public func writeError(_ text: String) {
    Self.writeAll(standardError, Array(text.utf8))
  }

  /// Writes every byte, retrying on EINTR and short writes. Failures are ignored here: a closed stderr
  /// must not turn into a second error, and a closed stdout ends the process through SIGPIPE.
  static func writeAll(_ descriptor: Int32, _ bytes: [UInt8]) {
    bytes.withUnsafeBytes { buffer in
      guard let base = buffer.baseAddress else { return }
      var offset = 0
      while offset < buffer.count {
        let written = Glibc.write(descriptor, base + offset, buffer.count - offset)
        if written < 0 {
          if errno == EINTR { continue }
          return
        }
        offset += written
      }
    }
  }
}
