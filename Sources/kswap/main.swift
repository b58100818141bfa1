// `kswap <verb> [args...]` runs `kswap-<verb> [args...]`, the way `git <verb>` does.
// The tool is looked for beside this executable first, then on PATH. Plain libc, no Foundation:
// `kswap inspect` should start as fast as `kswap-inspect`.

import Glibc

let arguments = CommandLine.arguments

/// The directory of this executable, symbolic links resolved.
let ownDirectory: String = {
  let resolved = realpath("/proc/self/exe", nil) ?? realpath(arguments[0], nil)
  guard let resolved else { return "." }
  defer { free(resolved) }
  let path = String(cString: resolved)
  guard let slash = path.lastIndex(of: "/") else { return "." }
  return slash == path.startIndex ? "/" : String(path[..<slash])
}()

/// Directories searched for `kswap-<verb>`, in order.
let searchPath: [String] =
  [ownDirectory] + (getenv("PATH").map { String(cString: $0) } ?? "").split(separator: ":").map(String.init)

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
    for name in directoryEntries(directory).sorted() where name.hasPrefix("kswap-") {
      let verb = String(name.dropFirst("kswap-".count))
      if !verbs.contains(verb), isExecutableFile("\(directory)/\(name)") { verbs.append(verb) }
    }
  }
  return verbs
}

/// The names in `directory`; none when it cannot be read.
func directoryEntries(_ directory: String) -> [String] {
  guard let stream = opendir(directory) else { return [] }
  defer { closedir(stream) }
  var names: [String] = []
  while let entry = readdir(stream) {
    names.append(withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) })
  }
  return names
}

/// Writes a line to stderr.
func complain(_ text: String) {
  let bytes = Array((text + "\n").utf8)
  _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
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
    text += "  " + verb + String(repeating: " ", count: max(0, 10 - verb.count)) + (abstracts[verb] ?? "") + "\n"
  }
  text += "\nEach verb is its own program, kswap-<verb>; see 'kswap-<verb> --help' or man kswap-<verb>.\n"
  print(text, terminator: "")
}

func run(verb: String, arguments: [String]) -> Never {
  guard let path = toolPath(verb) else {
    complain("kswap: '\(verb)' is not a kswap verb; see 'kswap --help'")
    exit(64)
  }
  let argv = ([path] + arguments).map { strdup($0) } + [nil]
  execv(path, argv)
  complain("kswap: cannot run \(path): \(String(cString: strerror(errno)))")
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
