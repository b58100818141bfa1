// What `--version` prints, the same release for every tool.

/// The kswap release and the `--version` text built from it.
public enum ToolVersion {
  /// The release every tool reports.
  public static let release = "0.1.0"

  /// `kswap <release>` followed by one line per detail (model tools add the BLAS core and threads).
  ///
  ///     static let configuration = CommandConfiguration(
  ///       commandName: "kswap-learn", version: ToolVersion.text(details: [blasDescription]))
  public static func text(details: [String] = []) -> String {
    (["kswap \(release)"] + details).joined(separator: "\n")
  }
}
