// A signal that ends a tool in the middle of writing removes its temporary file and leaves the
// destination as it was. A real kswap-pack child reads a pipe that has delivered only part of its
// input, so it is blocked with the temporary file open when the signal arrives.

import Foundation
import Glibc
import TensorFile
import Testing

@Suite struct InterruptCleanupTests {
  @Test(arguments: [SIGINT, SIGTERM, SIGHUP])
  func aSignalMidWriteLeavesNoTrace(signal: Int32) throws {
    let run = try PackRun()
    try run.waitForTemporaryFile()
    #expect(kill(run.pid, signal) == 0)
    let status = run.wait()
    #expect(status.signal == signal, "exit status \(status), stderr: \(run.errors())")
    #expect(run.destination() == "precious")
    #expect(run.outputListing() == ["dest.kst"])
  }

  @Test func nohupsIgnoredHangupStaysIgnored() throws {
    let run = try PackRun(prefix: ["nohup"])
    try run.waitForTemporaryFile()
    #expect(kill(run.pid, SIGHUP) == 0)
    usleep(100_000)
    try run.sendRest()
    let status = run.wait()
    #expect(status.exit == 0, "exit status \(status), stderr: \(run.errors())")
    #expect(run.outputListing() == ["dest.kst"])
    #expect(try TensorReader(path: run.output.file("dest.kst")).tensors.count == 8)
  }
}

/// `kswap-pack - --plain -o out/dest.kst -f` with its stdin on a pipe, fed the header and part of the
/// data of a 2 MB file; out/dest.kst holds "precious" before it starts.
final class PackRun {
  let scratch = ScratchDirectory()
  let output: ScratchDirectory
  let input: [UInt8]
  let pid: pid_t
  private var feed: Int32
  private let firstPart = 300_000

  init(prefix: [String] = []) throws {
    output = ScratchDirectory()
    let tensors = try (0..<8).map { index in
      (
        info: try TensorInfo(name: "blocks.\(index).weight", dtype: .f32, shape: [256, 256]),
        bytes: [UInt8](repeating: UInt8(index), count: 256 * 256 * 4)
      )
    }
    try TensorWriter.write(path: scratch.file("in.safetensors"), tensors: tensors)
    input = [UInt8](try #require(FileManager.default.contents(atPath: scratch.file("in.safetensors"))))
    _ = FileManager.default.createFile(atPath: output.file("dest.kst"), contents: Data("precious".utf8))

    let pack = try #require(builtTool("kswap-pack"), "kswap-pack is not built beside the test binary")
    // A child that died early must fail the test, not kill this process with SIGPIPE.
    signal(SIGPIPE, SIG_IGN)
    var pipeEnds: [Int32] = [0, 0]
    try #require(pipe(&pipeEnds) == 0)
    // Only the child's stdin may hold the read end, only this process the write end.
    for end in pipeEnds { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, pipeEnds[0], 0)
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, scratch.file("stderr"), O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    // The child starts with the default action for the signals under test, whatever this process has.
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var defaults = sigset_t()
    var unblocked = sigset_t()
    sigemptyset(&defaults)
    sigemptyset(&unblocked)
    for signal in [SIGINT, SIGTERM, SIGHUP, SIGPIPE] { sigaddset(&defaults, signal) }
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    posix_spawnattr_setsigmask(&attributes, &unblocked)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
    let arguments = prefix + [pack, "-", "--plain", "-o", output.file("dest.kst"), "-f", "-q"]
    var argv = arguments.map { strdup($0) } + [nil]
    defer { for argument in argv { free(argument) } }
    var child: pid_t = 0
    let spawned = posix_spawnp(&child, arguments[0], &actions, &attributes, &argv, environ)
    close(pipeEnds[0])
    feed = pipeEnds[1]
    try #require(spawned == 0, "cannot start \(arguments[0]): \(String(cString: strerror(spawned)))")
    pid = child
    try send(input[..<firstPart])
  }

  deinit {
    if feed >= 0 { close(feed) }
    if kill(pid, 0) == 0 {
      kill(pid, SIGKILL)
      _ = wait()
    }
  }

  /// Waits up to 10 s for the child's temporary file to appear beside the destination.
  func waitForTemporaryFile() throws {
    for _ in 0..<1000 {
      if outputListing().contains(where: { $0.hasPrefix(".dest.kst.kswap-") }) { return }
      usleep(10_000)
    }
    Issue.record("no temporary file appeared; stderr: \(errors())")
    throw CancellationError()
  }

  /// Sends the rest of the input and closes the pipe.
  func sendRest() throws {
    try send(input[firstPart...])
    close(feed)
    feed = -1
  }

  private func send(_ bytes: ArraySlice<UInt8>) throws {
    var offset = bytes.startIndex
    while offset < bytes.endIndex {
      let written = bytes[offset...].withUnsafeBytes { Glibc.write(feed, $0.baseAddress, $0.count) }
      if written < 0 && errno == EINTR { continue }
      try #require(written > 0, "cannot feed the child: \(String(cString: strerror(errno)))")
      offset += written
    }
  }

  /// The exit status or the signal that ended the child.
  func wait() -> (exit: Int32?, signal: Int32?) {
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let signal = status & 0x7f
    return signal == 0 ? ((status >> 8) & 0xff, nil) : (nil, signal)
  }

  func destination() -> String? {
    FileManager.default.contents(atPath: output.file("dest.kst")).map { String(decoding: $0, as: UTF8.self) }
  }

  func outputListing() -> [String] { output.listing() }

  func errors() -> String {
    String(decoding: FileManager.default.contents(atPath: scratch.file("stderr")) ?? Data(), as: UTF8.self)
  }
}

/// The path of a tool built beside the running test binary, if it is there.
func builtTool(_ name: String) -> String? {
  var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
  let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
  guard count > 0 else { return nil }
  var directory = String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
  // The test binary is <bin>/kswapPackageTests.xctest, or a file inside such a bundle.
  while let slash = directory.lastIndex(of: "/") {
    directory = String(directory[..<slash])
    let candidate = directory + "/" + name
    if access(candidate, X_OK) == 0 { return candidate }
    if directory.isEmpty { break }
  }
  return nil
}
