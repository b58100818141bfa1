// PyTorch zip checkpoints (fixtures made by Scripts/make-torch-fixtures.py with torch 2.13): every
// tensor matches what Python's safetensors wrote from the same state dict; damaged archives and
// pickles are refused.

import Foundation
import TensorFile
import Testing

@testable import Importers

@Suite struct TorchCheckpointTests {
  static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Fixtures/torch-checkpoint").path

  @Test func matchesSafetensorsFromTheSameStateDict() throws {
    let imported = try TorchCheckpoint.read(path: Self.folder + "/state.pt")
    let expected = try TensorReader(path: Self.folder + "/expected.safetensors")
    #expect(
      imported.tensors.map(\.name) == [
        "model.fc.weight", "model.fc.bias", "model.half", "model.brain",
        "model.transposed", "model.low", "model.high", "model.mask",
        "model.bytes", "model.scalar",
      ])
    #expect(Set(imported.tensors.map(\.name)) == Set(expected.tensors.map(\.name)))
    for info in expected.tensors {
      let mine = try #require(imported.tensors.first { $0.name == info.name })
      #expect(mine.dtype == info.dtype && mine.shape == info.shape, "\(info.name)")
      #expect(try imported.bytes(of: info.name, file: "t") == expected.bytes(of: info.name), "\(info.name)")
    }
    #expect(imported.metadata == ["format": "pt"])
  }

  /// U16, U32, U64 and F8_E4M3 come through _rebuild_tensor_v3 on untyped storages (they were left
  /// out before).
  @Test func newerDTypesMatchSafetensors() throws {
    let imported = try TorchCheckpoint.read(path: Self.folder + "/new-dtypes.pt")
    let expected = try TensorReader(path: Self.folder + "/new-dtypes.safetensors")
    #expect(imported.tensors.map(\.name) == ["u16", "u32", "u64", "f8"])
    for info in expected.tensors {
      let mine = try #require(imported.tensors.first { $0.name == info.name })
      #expect(mine.dtype == info.dtype && mine.shape == info.shape, "\(info.name)")
      #expect(try imported.bytes(of: info.name, file: "t") == expected.bytes(of: info.name), "\(info.name)")
    }
  }

  @Test func legacyFormatIsRefusedWithAHint() {
    let path = Self.folder + "/legacy.pt"
    #expect(
      throws: ImportError(
        .unrecognised,
        path,
        "not a zip-format PyTorch checkpoint (the format before PyTorch 1.6 is a bare pickle; re-save it with a current torch.save)"
      )
    ) {
      try TorchCheckpoint.read(path: path)
    }
  }

  @Test func zipWithoutPickle() {
    let scratch = Scratch()
    let path = scratch.write("w.pt", Fixture.wheel)
    #expect(throws: ImportError(.unrecognised, path, "no data.pkl in the archive: not a PyTorch checkpoint")) {
      try TorchCheckpoint.read(path: path)
    }
  }

  @Test func damagedCheckpointsThrow() throws {
    let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Self.folder + "/state.pt")))
    let scratch = Scratch()
    var refused = 0
    for index in stride(from: 0, to: bytes.count, by: 11) {
      var copy = bytes
      copy[index] ^= 0x5A
      do { _ = try TorchCheckpoint.read(path: scratch.write("d.pt", copy)) } catch is ImportError { refused += 1 }
    }
    for length in stride(from: 0, to: bytes.count, by: 97) {
      do { _ = try TorchCheckpoint.read(path: scratch.write("t.pt", Array(bytes.prefix(length)))) } catch is ImportError
      { refused += 1 }
    }
    #expect(refused > 40)
  }
}

@Suite struct PickleTests {
  @Test func opcodesTorchUses() throws {
    // {"a": [1, -2, 300, 2**40, 1.5, True, None, ("x", b"y")]} in protocol 4 with MEMOIZE and FRAME.
    let pickle: [UInt8] = [
      0x80, 4, 0x95, 0, 0, 0, 0, 0, 0, 0, 0, 0x7D, 0x94, 0x8C, 1, 0x61, 0x94, 0x5D, 0x94, 0x28,
      0x4B, 1, 0x4A, 0xFE, 0xFF, 0xFF, 0xFF, 0x4D, 0x2C, 0x01, 0x8A, 6, 0, 0, 0, 0, 0, 1,
      0x47, 0x3F, 0xF8, 0, 0, 0, 0, 0, 0, 0x88, 0x4E, 0x8C, 1, 0x78, 0x43, 1, 0x79, 0x86,
      0x65, 0x73, 0x2E,
    ]
    let value = try PickleProbe.load(pickle)
    #expect(value == "{a: [1, -2, 300, 1099511627776, 1.5, true, none, (x, bytes 1)]}")
  }

  /// Every float, whatever its bytes (0.1 ends in 0x9A; reading that as a signed Int trapped).
  @Test func floatsWithAnyBytes() throws {
    for value in [0.1, -2.5, 1e-8, -0.0, .infinity, 0.9] {
      let bits = value.bitPattern
      let pickle: [UInt8] =
        [0x80, 2, 0x47] + (0..<8).reversed().map { UInt8(truncatingIfNeeded: bits >> (8 * $0)) } + [0x2E]
      let loaded = try Pickle.load(pickle, file: "p")
      guard case .float(let read) = loaded else {
        Issue.record("not a float")
        continue
      }
      #expect(read.bitPattern == bits)
    }
  }

  @Test func refusesUnknownOpcodesAndTruncation() {
    #expect(throws: ImportError(.unsupported, "p", "pickle: opcode INT (0x49) is not supported at byte 3")) {
      try PickleProbe.load([0x80, 2, 0x49, 0x31, 0x0A, 0x2E])
    }
    #expect(throws: ImportError(.truncated, "p", "pickle: truncated data at byte 1")) { try PickleProbe.load([0x80]) }
    #expect(throws: ImportError(.malformed, "p", "pickle: stack underflow at byte 3")) {
      try PickleProbe.load([0x80, 2, 0x85, 0x2E])
    }
    #expect(throws: ImportError(.malformed, "p", "pickle: memo 9 was never stored at byte 4")) {
      try PickleProbe.load([0x80, 2, 0x68, 9, 0x2E])
    }
  }
}

/// Runs the internal pickle interpreter and prints its result compactly.
enum PickleProbe {
  static func load(_ bytes: [UInt8]) throws -> String { describe(try Pickle.load(bytes, file: "p")) }

  static func describe(_ value: PickleValue) -> String {
    switch value {
    case .none: return "none"
    case .bool(let flag): return String(flag)
    case .int(let number): return String(number)
    case .float(let number): return String(number)
    case .string(let text): return text
    case .bytes(let data): return "bytes \(data.count)"
    case .tuple(let tuple): return "(" + tuple.items.map(describe).joined(separator: ", ") + ")"
    case .list(let list): return "[" + list.items.map(describe).joined(separator: ", ") + "]"
    case .dict(let dict):
      return "{" + dict.entries.map { describe($0.key) + ": " + describe($0.value) }.joined(separator: ", ") + "}"
    case .global(let module, let name): return "\(module).\(name)"
    case .persistent(let id): return "persistent " + describe(.tuple(id))
    case .handle(let index): return "handle \(index)"
    }
  }
}
