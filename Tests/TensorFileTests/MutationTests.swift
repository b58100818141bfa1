// Seeded mutations of valid files: every one is either read correctly or refused with a
// TensorFileError; none may crash the process (a Swift trap here would abort the whole test run).

import SeededRandom
import Testing

@testable import TensorFile

@Suite struct Mutations {
  func mutate(_ file: [UInt8], _ generator: inout SeededGenerator) -> [UInt8] {
    var bytes = file
    switch Int.random(in: 0..<4, using: &generator) {
    case 0:  // flip a few bytes anywhere
      for _ in 0..<Int.random(in: 1...4, using: &generator) {
        bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
      }
    case 1:  // cut the file
      bytes.removeLast(Int.random(in: 1...bytes.count, using: &generator))
    case 2:  // a digit in the header becomes another digit, or a 9 run (huge numbers)
      if let digit = bytes.indices.filter({ (0x30...0x39).contains(bytes[$0]) }).randomElement(using: &generator) {
        bytes[digit] = Bool.random(using: &generator) ? UInt8.random(in: 0x30...0x39, using: &generator) : 0x39
        if Bool.random(using: &generator) { bytes.insert(contentsOf: Array(repeating: 0x39, count: 19), at: digit) }
      }
    default:  // overwrite a 64-bit field-sized run with extreme values
      let at = Int.random(in: 0..<max(1, bytes.count - 8), using: &generator)
      let value: UInt64 = [0, 1, UInt64(Int.max), UInt64.max, 1 << 40].randomElement(using: &generator)!
      for k in 0..<min(8, bytes.count - at) { bytes[at + k] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(k))) }
    }
    return bytes
  }

  @Test(arguments: [TensorWriter.Format.safetensors, .compressed])
  func mutatedFilesNeverCrash(format: TensorWriter.Format) throws {
    var generator = SeededGenerator(seed: 99)
    let tensors: [(info: TensorInfo, bytes: [UInt8])] = [
      (try TensorInfo(name: "w", dtype: .f32, shape: [4, 8]), randomBytes(128, using: &generator)),
      (try TensorInfo(name: "h", dtype: .bf16, shape: [3]), randomBytes(6, using: &generator)),
      (try TensorInfo(name: "s", dtype: .i64, shape: []), randomBytes(8, using: &generator)),
      (try TensorInfo(name: "z", dtype: .u8, shape: [0, 5]), []),
      (try TensorInfo(name: "q", dtype: .f4, shape: [6]), randomBytes(3, using: &generator)),
    ]
    let scratch = ScratchDirectory()
    try TensorWriter.write(path: scratch.file("good"), format: format, metadata: ["k": "v"], tensors: tensors)
    let good = scratch.read("good")
    var refused = 0
    for round in 0..<300 {
      let bytes = mutate(good, &generator)
      let path = scratch.write("m\(round % 4)", bytes)
      do {
        let reader = try TensorReader(path: path)
        try reader.forEachTensor { info, data in #expect(data.count == info.byteCount) }
        for info in reader.tensors { _ = try reader.bytes(of: info.name) }
      } catch is TensorFileError {
        refused += 1
      }
    }
    #expect(refused > 150)
  }
}
