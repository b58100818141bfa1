// Helpers shared by the TensorFile tests: scratch directories, safetensors files built from literal
// header text, a pipe fed from another thread.

import Foundation
import SeededRandom
import Testing

@testable import TensorFile

/// A fresh directory under the system's temporary directory, removed when the test ends.
final class ScratchDirectory {
  let path: String

  init() {
    path = NSTemporaryDirectory() + "kswap-tests-" + UUID().uuidString
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  }

  deinit { try? FileManager.default.removeItem(atPath: path) }

  func file(_ name: String) -> String { path + "/" + name }

  @discardableResult
  func write(_ name: String, _ bytes: [UInt8]) -> String {
    let target = file(name)
    _ = FileManager.default.createFile(atPath: target, contents: Data(bytes))
    return target
  }

  func read(_ name: String) -> [UInt8] { [UInt8](FileManager.default.contents(atPath: file(name)) ?? Data()) }
}

/// A safetensors file: the 8-byte length, the header text as given, then the data.
func safetensorsBytes(_ header: String, data: [UInt8] = []) -> [UInt8] {
  let json = Array(header.utf8)
  return littleEndianBytes(UInt64(json.count)) + json + data
}

/// Opens `bytes` as a file and returns the error the reader throws (nil when it accepts it).
func readError(_ bytes: [UInt8], scratch: ScratchDirectory = ScratchDirectory()) -> TensorFileError? {
  let path = scratch.write("input.safetensors", bytes)
  do {
    let reader = try TensorReader(path: path)
    try reader.forEachTensor { _, _ in }
    return nil
  } catch let error as TensorFileError {
    return error
  } catch {
    Issue.record("unexpected error type: \(error)")
    return nil
  }
}

/// Serves `bytes` through a FIFO, written from a background thread, so the reader sees a pipe.
final class Pipe {
  let path: String
  private let scratch = ScratchDirectory()
  private let writer: Thread

  init(_ bytes: [UInt8]) {
    path = scratch.file("fifo")
    precondition(mkfifo(path, 0o600) == 0)
    let target = path
    writer = Thread {
      let fd = open(target, O_WRONLY)
      guard fd >= 0 else { return }
      signal(SIGPIPE, SIG_IGN)
      var done = 0
      bytes.withUnsafeBytes { raw in
        while done < raw.count {
          let n = Foundation.write(fd, raw.baseAddress! + done, raw.count - done)
          if n <= 0 { break }
          done += n
        }
      }
      close(fd)
    }
    writer.start()
  }
}

/// Reads everything that arrives on a FIFO while `body` writes to it.
func collectFromPipe(_ body: (String) throws -> Void) throws -> [UInt8] {
  let scratch = ScratchDirectory()
  let path = scratch.file("fifo")
  precondition(mkfifo(path, 0o600) == 0)
  final class Box: @unchecked Sendable { var bytes: [UInt8] = [] }
  let box = Box()
  let done = DispatchSemaphore(value: 0)
  Thread {
    let fd = open(path, O_RDONLY)
    var buffer = [UInt8](repeating: 0, count: 1 << 16)
    while fd >= 0 {
      let n = buffer.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress!, $0.count) }
      if n <= 0 { break }
      box.bytes += buffer[0..<n]
    }
    close(fd)
    done.signal()
  }.start()
  try body(path)
  done.wait()
  return box.bytes
}

/// Deterministic pseudo-random bytes.
func randomBytes(_ count: Int, using generator: inout SeededGenerator) -> [UInt8] {
  (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
}
