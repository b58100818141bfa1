// The options every kswap tool spells and means the same way; a tool pulls them in with @OptionGroup.

import ArgumentParser
import TensorFile

/// A dataset's task as an option value (kswap-pretrain --task, kswap-pack --task).
extension DatasetLayout.Task: ExpressibleByArgument {}

/// `-o/--output PATH|-` and `-f/--force`: where a tool's binary product goes.
///
/// With no `-o` the product goes to stdout, unless stdout is a terminal: then the tool refuses with a
/// hint. A path is written atomically (see TensorFile's `OutputFile`), and an existing file there is replaced only
/// with `-f`.
public struct OutputOptions: ParsableArguments {
  @Option(
    name: .shortAndLong,
    help: ArgumentHelp(
      "Write the result to this file ('-' for stdout). Default: stdout when it is not a terminal.",
      valueName: "path"))
  public var output: String?

  @Flag(
    name: .shortAndLong,
    help: "Replace an existing output file, and write binary data to a terminal. Default: refuse.")
  public var force = false

  public init() {}
}

/// `-q/--quiet`: no progress and no informational messages on stderr (errors are still printed).
public struct QuietOption: ParsableArguments {
  @Flag(name: .shortAndLong, help: "Print no progress or informational messages on stderr; errors still show.")
  public var quiet = false

  public init() {}
}

/// `--json`: the tool's documented machine format (Formats/) on stdout instead of the table.
public struct JSONOption: ParsableArguments {
  @Flag(help: "Write JSON (the schema in Formats/) to stdout instead of the table. Default: the table.")
  public var json = false

  public init() {}
}

/// `--seed N`: the seed of every random choice, so the same inputs and seed give the same bytes.
public struct SeedOption: ParsableArguments {
  @Option(help: "Seed for every random choice (initialisation, shuffling); same seed, same output bytes.")
  public var seed: UInt64 = 0

  public init() {}
}
