// "-" as an input: standard input, refused when it is a terminal.

/// Checks an input operand before a library opens it.
public enum InputPath {
  /// Whether `path` means stdin.
  public static func isStandardInput(_ path: String) -> Bool {
    path == "-"
  }

  /// Refuses `-` when stdin is a terminal: the tool would wait for binary data a person cannot type.
  public static func check(_ path: String, console: Console = .current) throws {
    if isStandardInput(path) && console.standardInputIsTerminal {
      throw ToolError(
        .terminal, "refusing to read binary data from a terminal; pipe a file in (… | tool -) or name the file")
    }
  }
}
