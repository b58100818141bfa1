// What the targets need around the readers: a scratch folder for readers that take paths, a pipe for
// their streaming paths, a zip writer to wrap a fuzzed pickle in a checkpoint, and a way to draw
// choices from the fuzzer's bytes.

import Glibc

/// One folder per process under $TMPDIR (Scripts/fuzz points it at a folder it removes afterwards),
/// emptied at a normal exit.
enum Scratch {
  nonisolated(unsafe) private(set) static var directory = ""

  static func create() {
    var template = Array(((getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp") + "/kswap-fuzz-XXXXXX").utf8CString)
    guard mkdtemp(&template) != nil else {
      perror("kswap-fuzz: mkdtemp")
      exit(2)
    }
    directory = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    atexit {
      let command = "rm -rf '\(Scratch.directory)'"
      _ = system(command)
    }
  }

  static func path(_ name: String) -> String { directory + "/" + name }

  /// Writes `bytes` to `path`, or to the scratch file of that name when it has no "/" (replacing
  /// it), and returns the path.
  @discardableResult
  static func write(_ name: String, _ bytes: [UInt8]) -> String {
    let path = name.contains("/") ? name : path(name)
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    precondition(fd >= 0, "kswap-fuzz: cannot create \(path)")
    defer { close(fd) }
    var done = 0
    bytes.withUnsafeBytes { buffer in
      while done < buffer.count {
        let n = Glibc.write(fd, buffer.baseAddress! + done, buffer.count - done)
        precondition(n > 0, "kswap-fuzz: cannot write \(path)")
        done += n
      }
    }
    return path
  }

  static func makeDirectory(_ name: String) -> String {
    let path = path(name)
    mkdir(path, 0o755)
    return path
  }

  /// Runs `body` with a path that reads `bytes` from a pipe (a stream, as `kswap-pack -` gets),
  /// when the pipe can hold them all.
  static func withPipe(_ bytes: [UInt8], _ body: (String) -> Void) {
    var ends: [Int32] = [0, 0]
    guard pipe(&ends) == 0 else { return }
    defer { close(ends[0]) }
    let capacity = Int(fcntl(ends[1], 1031 /* F_SETPIPE_SZ */, CInt(1 << 20)))
    guard capacity >= bytes.count else {
      close(ends[1])
      return
    }
    let written = bytes.withUnsafeBytes { Glibc.write(ends[1], $0.baseAddress, $0.count) }
    close(ends[1])
    guard written == bytes.count else { return }
    body("/proc/self/fd/\(ends[0])")
  }
}

/// A zip archive of stored (uncompressed) members, as torch.save writes them.
enum StoredZip {
  static func make(_ members: [(name: String, bytes: [UInt8])]) -> [UInt8] {
    var out: [UInt8] = []
    var central: [UInt8] = []
    for member in members {
      let name = Array(member.name.utf8)
      let crc = crc32(member.bytes)
      let offset = out.count
      // version 2.0, no flags, stored, no time, CRC, sizes, name length, no extra field
      let common =
        le16(20) + le16(0) + le16(0) + le16(0) + le16(0) + le32(crc) + le32(member.bytes.count)
        + le32(member.bytes.count) + le16(name.count) + le16(0)
      out += le32(0x0403_4B50) + common + name + member.bytes
      central += le32(0x0201_4B50) + le16(20) + common + le16(0) + le16(0) + le16(0) + le32(0) + le32(offset) + name
    }
    let centralOffset = out.count
    out += central
    out += le32(0x0605_4B50) + le16(0) + le16(0) + le16(members.count) + le16(members.count) + le32(central.count)
    out += le32(centralOffset) + le16(0)
    return out
  }

  private static func le16(_ value: Int) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8 & 0xFF)] }
  private static func le32(_ value: Int) -> [UInt8] { (0..<4).map { UInt8(value >> (8 * $0) & 0xFF) } }
  private static func le32(_ value: UInt32) -> [UInt8] { le32(Int(value)) }

  private static func crc32(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
      crc ^= UInt32(byte)
      for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    return ~crc
  }
}

/// Choices drawn from the front of the fuzzer's bytes (zeros once they run out), the rest as data.
struct FuzzBytes {
  private let bytes: [UInt8]
  private var at = 0

  init(_ bytes: [UInt8]) { self.bytes = bytes }

  mutating func byte() -> UInt8 {
    guard at < bytes.count else { return 0 }
    defer { at += 1 }
    return bytes[at]
  }

  /// A number in 0..<count.
  mutating func below(_ count: Int) -> Int { Int(byte()) % count }

  mutating func bool() -> Bool { byte() & 1 == 1 }

  mutating func pick<T>(_ choices: [T]) -> T { choices[below(choices.count)] }

  /// The next `count` bytes (fewer when the input ends).
  mutating func take(_ count: Int) -> [UInt8] {
    let end = min(bytes.count, at + count)
    defer { at = end }
    return Array(bytes[at..<end])
  }

  /// A length byte, then that many bytes as text.
  mutating func text() -> String { String(decoding: take(Int(byte())), as: UTF8.self) }

  /// The next `count` bytes, repeated when fewer are left (zeros when none are).
  mutating func data(_ count: Int) -> [UInt8] {
    let taken = take(count)
    guard !taken.isEmpty else { return [UInt8](repeating: 0, count: count) }
    return (0..<count).map { taken[$0 % taken.count] }
  }
}
