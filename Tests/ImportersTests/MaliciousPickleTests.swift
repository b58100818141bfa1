// Pickle stays data: every payload of Tests/Fixtures/malicious-pickles (Scripts/make-malicious-pickles.py;
// torch.load runs each code payload, creating a pwned-<case> file) is refused with an error naming the
// global or opcode, from the checkpoint and from the bare pickle, and nothing runs. Then the pickle
// reader's own bounds, on small hand-made pickles.

import Foundation
import Testing

@testable import Importers

@Suite struct MaliciousPickleTests {
  static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Fixtures/malicious-pickles").path

  static var cases: [(name: String, named: String)] {
    let table = (try? String(contentsOfFile: folder + "/cases.tsv", encoding: .utf8)) ?? ""
    return table.split(separator: "\n").map {
      let fields = $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
      return (fields[0], fields[2])
    }
  }

  @Test func everyCaseIsRefusedByName() throws {
    #expect(Self.cases.count >= 20)
    for (name, named) in Self.cases {
      let path = Self.folder + "/" + name + ".pt"
      do {
        _ = try TorchCheckpoint.read(path: path)
        Issue.record("\(name).pt was read")
      } catch let error as ImportError {
        #expect(error.file.hasPrefix(path), "\(name)")
        #expect(error.message.contains(named), "\(name): \(error.message)")
        #expect(error.kind == Self.kind(of: name), "\(name)")
      }
      let bare = Self.folder + "/" + name + ".pkl"
      guard let bytes = FileManager.default.contents(atPath: bare) else { continue }
      #expect(throws: ImportError.self) { try TorchCheckpoint.read(path: bare) }  // the legacy format
      var tensors: [TorchTensor] = []
      do {
        _ = try TorchCheckpoint.load([UInt8](bytes), file: "p", limits: .standard, tensors: &tensors)
        Issue.record("\(name).pkl was read")
      } catch let error as ImportError {
        #expect(error.message.contains(named), "\(name).pkl: \(error.message)")
        #expect(error.kind == Self.kind(of: name), "\(name).pkl")
      }
    }
    let ran = try FileManager.default.contentsOfDirectory(atPath: ".").filter { $0.hasPrefix("pwned-") }
    #expect(ran.isEmpty)
  }

  /// The kind each case is refused as: what would run code or reach outside the archive is unsafePickle;
  /// storages whose sizes disagree with their files are malformed; the bombs exceed a limit.
  static func kind(of name: String) -> ImportError.Kind {
    if name.hasPrefix("storage-") { return .malformed }
    let bombs = ["memo-huge", "values-huge", "nesting-lists", "nesting-tuples", "shared-references", "shared-tensor"]
    return bombs.contains(name) ? .limitExceeded : .unsafePickle
  }

  /// A tensor record as the fixtures write it, without a payload, reads.
  @Test func theCarrierAloneReads() throws {
    var tensors: [TorchTensor] = []
    _ = try TorchCheckpoint.load(Self.goodPickle, file: "p", limits: .standard, tensors: &tensors)
    #expect(tensors.map(\.key) == ["0"])
    #expect(tensors.map(\.size) == [[4]])
  }

  /// {"w": _rebuild_tensor_v2(("storage", FloatStorage, "0", "cpu", 4), 0, (4,), (1,), False, OrderedDict())}
  static let goodPickle: [UInt8] =
    [0x80, 2, 0x7D, 0x28] + text("w") + Array("ctorch._utils\n_rebuild_tensor_v2\n".utf8) + [0x28, 0x28]
    + text("storage")
    + Array("ctorch\nFloatStorage\n".utf8) + text("0") + text("cpu") + [
      0x4B, 4, 0x74, 0x51, 0x4B, 0, 0x4B, 4, 0x85, 0x4B, 1, 0x85, 0x89,
    ]
    + Array("ccollections\nOrderedDict\n".utf8) + [0x29, 0x52, 0x74, 0x52, 0x75, 0x2E]

  static func text(_ string: String) -> [UInt8] { [0x8C, UInt8(string.utf8.count)] + Array(string.utf8) }
}

@Suite struct PickleBoundsTests {
  func kind(_ bytes: [UInt8], maxValues: Int = 1 << 20) -> ImportError.Kind? {
    (#expect(throws: ImportError.self) { try Pickle.load(bytes, file: "p", maxValues: maxValues) })?.kind
  }

  func refusal(_ bytes: [UInt8], maxValues: Int = 1 << 20) -> String? {
    do {
      _ = try Pickle.load(bytes, file: "p", maxValues: maxValues)
      return nil
    } catch let error as ImportError {
      return error.message
    } catch {
      return "\(error)"
    }
  }

  @Test func globalsOutsideTheAllowedSetAreRefusedWhereNamed() {
    #expect(
      refusal([0x80, 2] + Array("cos\nsystem\n".utf8) + [0x2E])?.hasPrefix("pickle: GLOBAL os.system is not allowed")
        == true)
    let stack = [0x80, 4] + MaliciousPickleTests.text("builtins") + MaliciousPickleTests.text("eval") + [0x93, 0x2E]
    #expect(refusal(stack)?.hasPrefix("pickle: STACK_GLOBAL builtins.eval is not allowed") == true)
    #expect(kind(stack) == .unsafePickle)
    #expect(
      (try? Pickle.load(
        [0x80, 2] + Array("ctorch\nFloatStorage\n".utf8) + [0x2E], file: "p", allowed: ["torch.FloatStorage"])) != nil)
  }

  @Test func callsTheHookDoesNotInterpretAreRefused() {
    let storage = Array("ctorch\nFloatStorage\n".utf8)
    let reduce = [0x80, 2] + storage + [0x29, 0x52, 0x2E]
    #expect(
      throws: ImportError(
        .unsafePickle,
        "p", "pickle: REDUCE of torch.FloatStorage is not allowed (kswap runs no pickle code) at byte 24")
    ) {
      try Pickle.load(reduce, file: "p", allowed: ["torch.FloatStorage"])
    }
    #expect(refusal([0x80, 2, 0x4E, 0x29, 0x52, 0x2E]) == "pickle: REDUCE of a None, not a global at byte 5")
    #expect(kind([0x80, 2, 0x4E, 0x29, 0x52, 0x2E]) == .malformed)
  }

  @Test func opcodesThatCallClassesAreRefusedByName() {
    #expect(
      refusal([0x28] + Array("ios\nsystem\n".utf8) + [0x2E])
        == "pickle: opcode INST is not allowed: it calls a class or looks a callable up at byte 2")
    #expect(
      refusal([0x28, 0x6F, 0x2E])
        == "pickle: opcode OBJ is not allowed: it calls a class or looks a callable up at byte 2")
    #expect(
      refusal([0x80, 2, 0x82, 1, 0x2E])
        == "pickle: opcode EXT1 is not allowed: it calls a class or looks a callable up at byte 3")
    #expect(
      refusal([0x5D, 0x7D, 0x62, 0x2E])
        == "pickle: BUILD on a list is not allowed (only a dict's attributes are read, and ignored) at byte 3")
    #expect(refusal([0x4E, 0x51, 0x2E]) == "pickle: BINPERSID of a None, not a tuple at byte 2")
    #expect(refusal([0x56, 0x2E]) == "pickle: opcode UNICODE (0x56) is not supported at byte 1")
    #expect(kind([0x28, 0x6F, 0x2E]) == .unsafePickle)
    #expect(kind([0x5D, 0x7D, 0x62, 0x2E]) == .unsafePickle)
    #expect(kind([0x56, 0x2E]) == .unsupported)
  }

  @Test func nestingIsBounded() {
    let lists = [UInt8](repeating: 0x5D, count: 200) + [UInt8](repeating: 0x61, count: 199) + [0x2E]
    #expect(refusal(lists)?.hasPrefix("pickle: containers nested deeper than 128 levels") == true)
    let tuples = [0x4E] + [UInt8](repeating: 0x85, count: 200) + [0x2E]
    #expect(refusal(tuples) == "pickle: containers nested deeper than 128 levels at byte 130")
    #expect(kind(tuples) == .limitExceeded)
    let fine = [0x4E] + [UInt8](repeating: 0x85, count: 128) + [0x2E]
    #expect(refusal(fine) == nil)
  }

  @Test func cyclesCannotBeBuilt() {
    // l = []; l.append(l)
    #expect(refusal([0x5D, 0x71, 0, 0x68, 0, 0x61, 0x2E]) == "pickle: APPEND of a list into itself at byte 6")
    // a = []; b = [a]; a.append(b): a is inside b, so it cannot change any more.
    let cycle: [UInt8] = [0x5D, 0x71, 0, 0x28, 0x68, 0, 0x6C, 0x71, 1, 0x30, 0x68, 0, 0x68, 1, 0x61, 0x2E]
    #expect(
      refusal(cycle)
        == "pickle: APPEND on a list already inside another value (a self-referencing structure) at byte 15")
    let dict: [UInt8] = [0x7D, 0x71, 0, 0x4E, 0x68, 0, 0x73, 0x2E]
    #expect(refusal(dict) == "pickle: SETITEM of a dict into itself at byte 7")
  }

  @Test func valuesAndMemoAreBounded() {
    let values = [UInt8](repeating: 0x4E, count: 101) + [0x2E]
    #expect(refusal(values, maxValues: 100) == "pickle: more than 100 values at byte 101")
    let memo = [0x4E] + [UInt8](repeating: 0x94, count: 101) + [0x2E]
    #expect(refusal(memo, maxValues: 100) == "pickle: more than 100 memo entries at byte 102")
    #expect(kind(values, maxValues: 100) == .limitExceeded)
    #expect(kind(memo, maxValues: 100) == .limitExceeded)
    // Memo keys far apart cost one entry each, not an array up to the largest.
    let sparse: [UInt8] = [0x4E, 0x72, 0xFF, 0xFF, 0xFF, 0xFF, 0x6A, 0xFF, 0xFF, 0xFF, 0xFF, 0x2E]
    #expect(refusal(sparse, maxValues: 100) == nil)
  }
}
