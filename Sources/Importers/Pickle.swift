/// A Python pickle interpreter that builds values and never runs code: globals are only names,
/// and calling one (REDUCE, NEWOBJ) yields a `.call` record that the caller interprets (or not).
/// It covers what torch.save writes (protocols 2 to 5); other opcodes are refused with an error.
indirect enum PickleValue {
  case none
  case bool(Bool)
  case int(Int64)
  case float(Double)
  case string(String)
  case bytes([UInt8])
  case tuple([PickleValue])
  case list(PickleList)
  case dict(PickleDict)
  /// A global reference `module.name`, not resolved.
  case global(module: String, name: String)
  /// The result of calling a global with arguments, not performed.
  case call(module: String, name: String, arguments: [PickleValue])
  /// A persistent id (torch's storage references), to be resolved by the caller.
  case persistent(PickleValue)
  /// An object the caller's `reduce` hook built, by its index in the hook's own table; a pickle
  /// cannot make one itself.
  case handle(Int)

  var string: String? { if case .string(let text) = self { return text } else { return nil } }

  var int: Int64? {
    switch self {
    case .int(let value): return value
    case .bool(let value): return value ? 1 : 0
    default: return nil
    }
  }

  var items: [PickleValue]? {
    switch self {
    case .tuple(let items): return items
    case .list(let list): return list.items
    default: return nil
    }
  }
}

final class PickleList {
  var items: [PickleValue]
  init(_ items: [PickleValue] = []) { self.items = items }
}

final class PickleDict {
  var entries: [(key: PickleValue, value: PickleValue)] = []
}

enum Pickle {
  /// Runs the pickle program in `bytes` and returns the value STOP leaves; `file` names it in errors.
  /// `reduce` may turn a call into a value (e.g. an OrderedDict into a dict); return nil to keep it.
  static func load(
    _ bytes: [UInt8], file: String,
    reduce: (String, String, [PickleValue]) throws -> PickleValue? = { _, _, _ in nil }
  ) throws -> PickleValue {
    var stack: [PickleValue] = []
    var marks: [Int] = []
    var memo: [Int: PickleValue] = [:]
    var at = 0

    func fail(_ what: String) -> ImportError { ImportError(file, "pickle: \(what) at byte \(at)") }
    func take(_ count: Int) throws -> ArraySlice<UInt8> {
      guard count >= 0, bytes.count - at >= count else { throw fail("truncated data") }
      defer { at += count }
      return bytes[at..<at + count]
    }
    func unsigned(_ count: Int) throws -> Int {
      try take(count).reversed().reduce(0) { $0 << 8 | Int($1) }
    }
    func pop() throws -> PickleValue {
      guard let value = stack.popLast() else { throw fail("stack underflow") }
      if let mark = marks.last, stack.count < mark { throw fail("stack underflow below a mark") }
      return value
    }
    func popToMark() throws -> [PickleValue] {
      guard let mark = marks.popLast() else { throw fail("no mark") }
      defer { stack.removeSubrange(mark...) }
      return Array(stack[mark...])
    }
    func text(_ count: Int) throws -> String {
      guard count <= bytes.count else { throw fail("string longer than the file") }
      return String(decoding: try take(count), as: UTF8.self)
    }
    func line() throws -> String {
      guard let end = bytes[at...].firstIndex(of: 0x0A) else { throw fail("unterminated line") }
      defer { at = end + 1 }
      return String(decoding: bytes[at..<end], as: UTF8.self)
    }
    func call(_ callee: PickleValue, _ arguments: [PickleValue]) throws -> PickleValue {
      guard case .global(let module, let name) = callee else { throw fail("call of a value that is not a global") }
      return try reduce(module, name, arguments) ?? .call(module: module, name: name, arguments: arguments)
    }
    func setItems(_ pairs: [PickleValue], into target: PickleValue) throws {
      guard pairs.count % 2 == 0 else { throw fail("odd number of dict items") }
      guard case .dict(let dict) = target else { throw fail("SETITEMS on a value that is not a dict") }
      for index in stride(from: 0, to: pairs.count, by: 2) { dict.entries.append((pairs[index], pairs[index + 1])) }
    }
    func append(_ items: [PickleValue], to target: PickleValue) throws {
      guard case .list(let list) = target else { throw fail("APPENDS on a value that is not a list") }
      list.items += items
    }

    while true {
      let opcode = try take(1).first!
      switch opcode {
      case 0x80: _ = try take(1)  // PROTO
      case 0x95: _ = try take(8)  // FRAME: a length hint
      case 0x2E:  // STOP
        guard let result = stack.last else { throw fail("STOP with an empty stack") }
        return result
      case 0x28: marks.append(stack.count)  // MARK
      case 0x29: stack.append(.tuple([]))  // EMPTY_TUPLE
      case 0x5D: stack.append(.list(PickleList()))  // EMPTY_LIST
      case 0x7D, 0x8F: stack.append(.dict(PickleDict()))  // EMPTY_DICT; EMPTY_SET kept as a dict
      case 0x4E: stack.append(.none)
      case 0x88: stack.append(.bool(true))
      case 0x89: stack.append(.bool(false))
      case 0x4A: stack.append(.int(Int64(Int32(truncatingIfNeeded: try unsigned(4)))))  // BININT
      case 0x4B: stack.append(.int(Int64(try unsigned(1))))  // BININT1
      case 0x4D: stack.append(.int(Int64(try unsigned(2))))  // BININT2
      case 0x8A, 0x8B:  // LONG1, LONG4: little-endian two's complement
        let count = try unsigned(opcode == 0x8A ? 1 : 4)
        guard count <= 8 else { throw fail("integer of \(count) bytes is too large") }
        let raw = try take(count)
        var value: UInt64 = 0
        for (shift, byte) in raw.enumerated() { value |= UInt64(byte) << (8 * UInt64(shift)) }
        if count > 0 && count < 8 && raw.last! & 0x80 != 0 { value |= ~0 << (8 * UInt64(count)) }
        stack.append(.int(Int64(bitPattern: value)))
      case 0x47:  // BINFLOAT, big-endian; `unsigned(8)` is negative when the last byte is 0x80 or more (0.1)
        stack.append(.float(Double(bitPattern: UInt64(truncatingIfNeeded: try unsigned(8)).byteSwapped)))
      case 0x58: stack.append(.string(try text(unsigned(4))))  // BINUNICODE
      case 0x8C: stack.append(.string(try text(unsigned(1))))  // SHORT_BINUNICODE
      case 0x8D: stack.append(.string(try text(unsigned(8))))  // BINUNICODE8
      case 0x54: stack.append(.string(try text(unsigned(4))))  // BINSTRING (Python 2 str)
      case 0x55: stack.append(.string(try text(unsigned(1))))  // SHORT_BINSTRING
      case 0x42: stack.append(.bytes(Array(try take(unsigned(4)))))  // BINBYTES
      case 0x43: stack.append(.bytes(Array(try take(unsigned(1)))))  // SHORT_BINBYTES
      case 0x8E: stack.append(.bytes(Array(try take(unsigned(8)))))  // BINBYTES8
      case 0x63: stack.append(.global(module: try line(), name: try line()))  // GLOBAL
      case 0x93:  // STACK_GLOBAL
        let name = try pop(), module = try pop()
        guard let module = module.string, let name = name.string else { throw fail("STACK_GLOBAL needs two strings") }
        stack.append(.global(module: module, name: name))
      case 0x74: stack.append(.tuple(try popToMark()))  // TUPLE
      case 0x85: stack.append(.tuple([try pop()]))
      case 0x86:
        let second = try pop(), first = try pop()
        stack.append(.tuple([first, second]))
      case 0x87:
        let third = try pop(), second = try pop(), first = try pop()
        stack.append(.tuple([first, second, third]))
      case 0x6C: stack.append(.list(PickleList(try popToMark())))  // LIST
      case 0x64:  // DICT
        let dict = PickleValue.dict(PickleDict())
        try setItems(try popToMark(), into: dict)
        stack.append(dict)
      case 0x71: memo[try unsigned(1)] = stack.last  // BINPUT
      case 0x72: memo[try unsigned(4)] = stack.last  // LONG_BINPUT
      case 0x94: memo[memo.count] = stack.last  // MEMOIZE
      case 0x68, 0x6A:  // BINGET, LONG_BINGET
        let key = try unsigned(opcode == 0x68 ? 1 : 4)
        guard let value = memo[key] else { throw fail("memo \(key) was never stored") }
        stack.append(value)
      case 0x51: stack.append(.persistent(try pop()))  // BINPERSID
      case 0x52:  // REDUCE
        let arguments = try pop(), callee = try pop()
        guard let items = arguments.items else { throw fail("REDUCE arguments are not a tuple") }
        stack.append(try call(callee, items))
      case 0x81:  // NEWOBJ: cls.__new__(cls, *args)
        let arguments = try pop(), callee = try pop()
        stack.append(try call(callee, arguments.items ?? []))
      case 0x92:  // NEWOBJ_EX
        _ = try pop()
        let arguments = try pop(), callee = try pop()
        stack.append(try call(callee, arguments.items ?? []))
      case 0x62: _ = try pop()  // BUILD: object state (e.g. a state dict's _metadata) is not needed
      case 0x73:  // SETITEM
        let value = try pop(), key = try pop()
        guard let target = stack.last else { throw fail("SETITEM with no dict") }
        try setItems([key, value], into: target)
      case 0x75:  // SETITEMS
        let pairs = try popToMark()
        guard let target = stack.last else { throw fail("SETITEMS with no dict") }
        try setItems(pairs, into: target)
      case 0x61:  // APPEND
        let value = try pop()
        guard let target = stack.last else { throw fail("APPEND with no list") }
        try append([value], to: target)
      case 0x65:  // APPENDS
        let values = try popToMark()
        guard let target = stack.last else { throw fail("APPENDS with no list") }
        try append(values, to: target)
      case 0x90:  // ADDITEMS (sets): ignored content
        _ = try popToMark()
      case 0x91:
        _ = try popToMark()
        stack.append(.tuple([]))  // FROZENSET
      case 0x30: _ = try pop()  // POP
      case 0x31: _ = try popToMark()  // POP_MARK
      case 0x32:  // DUP
        guard let top = stack.last else { throw fail("DUP on an empty stack") }
        stack.append(top)
      default:
        throw fail("opcode 0x\(String(opcode, radix: 16)) is not supported")
      }
    }
  }
}
