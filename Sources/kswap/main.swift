// `kswap <verb> [args...]` runs `kswap-<verb> [args...]`, the way `git <verb>` does.
// The tool is looked for beside this executable first, then on PATH.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

let arguments = CommandLine.arguments
let ownDirectory = URL(fileURLWithPath: Bundle.main.executablePath ?? arguments[0])
  .resolvingSymlinksInPath().deletingLastPathComponent().path

/// Directories searched for `kswap-<verb>`, in order.
let searchPath: [String] =
  [ownDirectory] + (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)

/// A regular file we may execute (the build folder also holds `kswap-<verb>.product` directories).
func isExecutableFile(_ path: String) -> Bool {
  var info = stat()
  return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG && access(path, X_OK) == 0
}

func toolPath(_ verb: String) -> String? {
  searchPath.lazy.map { "\($0)/kswap-\(verb)" }.first(where: isExecutableFile)
}

/// Every `kswap-<verb>` found, first occurrence of each verb wins.
func installedVerbs() -> [String] {
  var verbs: [String] = []
  for directory in searchPath {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    for name in names.sorted() where name.hasPrefix("kswap-") {
      let verb = String(name.dropFirst("kswap-".count))
      if !verbs.contains(verb), isExecutableFile("\(directory)/\(name)") { verbs.append(verb) }
    }
  }
  return verbs
}

let abstracts = [
  "inspect": "list tensors, metadata and statistics of a weight file",
  "pack": "convert, compress, filter, rename and import weight files and datasets",
  "learn": "train a LoRA adapter that adds new classes while keeping the rest",
  "forget": "train a LoRA adapter that forgets chosen classes while keeping the rest",
  "eval": "top-1 accuracy of a model (plus adapters) on dataset files",
  "merge": "fold LoRA adapters into base weights, or take them out again",
  "diff": "per-tensor and per-block change between checkpoints or adapters",
  "pretrain": "train a small ViT from scratch, every parameter trainable",
]

func printUsage() {
  var text = """
    OVERVIEW: knowledge swapping and weight-file surgery for vision transformers

    USAGE: kswap <verb> [<arguments> ...]
           kswap help <verb>

    VERBS:

    """
  for verb in installedVerbs() {
    text += "  " + verb.padding(toLength: 10, withPad: " ", startingAt: 0) + (abstracts[verb] ?? "") + "\n"
  }
  text += "\nEach verb is its own program, kswap-<verb>; see 'kswap-<verb> --help' or man kswap-<verb>.\n"
  print(text, terminator: "")
}

func run(verb: String, arguments: [String]) -> Never {
  guard let path = toolPath(verb) else {
    FileHandle.standardError.write(Data("kswap: '\(verb)' is not a kswap verb; see 'kswap --help'\n".utf8))
    exit(64)
  }
  let argv = ([path] + arguments).map { strdup($0) } + [nil]
  execv(path, argv)
  FileHandle.standardError.write(Data("kswap: cannot run \(path): \(String(cString: strerror(errno)))\n".utf8))
  exit(2)
}

switch arguments.dropFirst().first {
case nil, "-h", "--help":
  printUsage()
case "help":
  if arguments.count > 2 { run(verb: arguments[2], arguments: ["--help"]) }
  printUsage()
case "--version":
  // Every tool reports the same version; ask one that is there.
  if let verb = installedVerbs().first { run(verb: verb, arguments: ["--version"]) }
  print("kswap (no tools installed)")
case let verb?:
  run(verb: verb, arguments: Array(arguments.dropFirst(2)))
}
