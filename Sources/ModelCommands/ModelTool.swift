// The entry point every model tool shares (learn, forget, eval, pretrain): get OpenBLAS's fast
// kernels first, then run the command through ToolSupport's exit-status runner.

import Glibc
import Tensors
import ToolSupport

/// A kswap tool that computes on weights. Its executable is `import ModelCommands` and `Merge.main()`.
public protocol ModelTool: Tool {}

extension ModelTool {
  /// Re-executes with `OPENBLAS_CORETYPE=SkylakeX` where that makes OpenBLAS faster (before any input
  /// is read), then parses the arguments, runs the command and exits with its status.
  public static func main() {
    BLASRuntime.selectFastKernels()
    Glibc.exit(execute(Array(CommandLine.arguments.dropFirst())))
  }

  /// `--version` text: the release, then the BLAS core and threads.
  public static var versionText: String { ToolVersion.text(details: [BLASRuntime.summary]) }
}
