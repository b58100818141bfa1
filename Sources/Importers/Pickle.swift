/// A Python pickle interpreter that builds values and never runs code: a global is only a name,
/// checked against the caller's allowed set when the pickle names it, and calling one (REDUCE,
/// NEWOBJ) asks the caller's `reduce` hook for a value; a call the hook does not understand is
/// refused, as are the opcodes that call classes directly (INST, OBJ) or look callables up (EXT1,
/// EXT2, EXT4). It covers what torch.save writes (protocols 2 to 5); other opcodes are refused.
///
/// What a pickle can make kswap hold is bounded: at most `ImportLimits.maxPickleValues` values and
/// as many memo entries, containers nested at most `Pickle.maxNesting` deep (so no structure is too deep to
/// walk or to free), and no cycles: a list or dict, once placed inside another value, is sealed,
/// and changing it afterwards (which is how a self-referencing structure is built) is refused.
enum PickleValue {
  case none
  case bool(Bool)
  case int(Int64)
  case float(Double)
  case string(String)
  case bytes([UInt8])
  case tuple(PickleTuple)
  case list(PickleList)
  case dict(PickleDict)
  /// A global reference `module.name`, not resolved. (Boxed, so that the other values stay small.)
  indirect case global(module: String, name: String)
  /// A persistent id (torch's storage references: a tuple), to be resolved by the caller.
  case persistent(PickleTuple)
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
    case .tuple(let tuple): return tuple.items
    case .list(let list): return list.items
    default: return nil
    }
  }

  /// Levels of containers inside this value (0 for a scalar).
  var depth: Int {
    switch self {
    case .tuple(let tuple): return tuple.depth
    case .list(let list): return list.depth
    case .dict(let dict): return dict.depth
    case .persistent(let id): return id.depth + 1
    default: return 0
    }
  }

  /// What kind of value this is, for errors.
  var kind: String {
    switch self {
    case .none: return "None"
    case .bool: return "bool"
    case .int: return "int"
    case .float: return "float"
    case .string: return "str"
    case .bytes: return "bytes"
    case .tuple: return "tuple"
    case .list: return "list"
    case .dict: return "dict"
    case .global(let module, let name): return "\(module).\(name)"
    case .persistent: return "persistent id"
    case .handle: return "tensor"
    }
  }
}

/// A tuple: immutable once built, so its depth is known then.
final class PickleTuple {
  let items: [PickleValue]
  let depth: Int
  init(_ items: [PickleValue]) {
    self.items = items
    self.depth = 1 + (items.map(\.depth).max() ?? 0)
  }
}

/// A list, filled by APPEND(S) while it is on the stack; sealed once it is inside another value.
final class PickleList {
  var items: [PickleValue]
  var depth: Int
  var sealed = false
  init(_ items: [PickleValue] = []) {
    self.items = items
    self.depth = 1 + (items.map(\.depth).max() ?? 0)
  }
}

/// A dict (or set), filled by SETITEM(S) while it is on the stack; sealed once it is inside another value.
final class PickleDict {
  var entries: [(key: PickleValue, value: PickleValue)] = []
  var depth = 1
  var sealed = false
}

enum Pickle {
  /// Deepest nesting of containers: torch's records nest about five deep.
  static let maxNesting = 128

  /// Opcode names, for errors.
  static let opcodeNames: [UInt8: String] = [
    0x28: "MARK", 0x2E: "STOP", 0x30: "POP", 0x31: "POP_MARK", 0x32: "DUP", 0x46: "FLOAT", 0x49: "INT",
    0x4A: "BININT", 0x4B: "BININT1", 0x4C: "LONG", 0x4D: "BININT2", 0x4E: "NONE", 0x50: "PERSID",
    0x51: "BINPERSID", 0x52: "REDUCE", 0x53: "STRING", 0x54: "BINSTRING", 0x55: "SHORT_BINSTRING",
    0x56: "UNICODE", 0x58: "BINUNICODE", 0x61: "APPEND", 0x62: "BUILD", 0x63: "GLOBAL", 0x64: "DICT",
    0x7D: "EMPTY_DICT", 0x65: "APPENDS", 0x67: "GET", 0x68: "BINGET", 0x69: "INST", 0x6A: "LONG_BINGET",
    0x6C: "LIST", 0x5D: "EMPTY_LIST", 0x6F: "OBJ", 0x70: "PUT", 0x71: "BINPUT", 0x72: "LONG_BINPUT",
    0x73: "SETITEM", 0x74: "TUPLE", 0x29: "EMPTY_TUPLE", 0x75: "SETITEMS", 0x47: "BINFLOAT", 0x80: "PROTO",
    0x81: "NEWOBJ", 0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4", 0x85: "TUPLE1", 0x86: "TUPLE2", 0x87: "TUPLE3",
    0x88: "NEWTRUE", 0x89: "NEWFALSE", 0x8A: "LONG1", 0x8B: "LONG4", 0x42: "BINBYTES", 0x43: "SHORT_BINBYTES",
    0x8C: "SHORT_BINUNICODE", 0x8D: "BINUNICODE8", 0x8E: "BINBYTES8", 0x8F: "EMPTY_SET", 0x90: "ADDITEMS",
    0x91: "FROZENSET", 0x92: "NEWOBJ_EX", 0x93: "STACK_GLOBAL", 0x94: "MEMOIZE", 0x95: "FRAME",
    0x96: "BYTEARRAY8", 0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER",
  ]

  static func name(of opcode: UInt8) -> String { opcodeNames[opcode] ?? "0x\(String(opcode, radix: 16))" }

  /// Runs the pickle program in `bytes` and returns the value STOP leaves; `file` names it in errors.
  /// `allowed` lists the globals (`module.name`) the pickle may name; `reduce` turns a call of one
  /// into a value (e.g. an OrderedDict into a dict), or returns nil to refuse it. At most `maxValues`
  /// values and as many memo entries are created.
  static func load(
    _ bytes: [UInt8], file: String, allowed: Set<String> = [], maxValues: Int = ImportLimits.standard.maxPickleValues,
    reduce: (String, String, [PickleValue]) throws -> PickleValue? = { _, _, _ in nil }
  ) throws -> PickleValue {
    var stack: [PickleValue] = []
    var marks: [Int] = []
    // Python's pickler numbers memo entries 0, 1, 2...: those go in an array, any others in a dictionary.
    var memo: [PickleValue] = []
    var sparseMemo: [Int: PickleValue] = [:]
    var created = 0
    var at = 0

    func fail(_ kind: ImportError.Kind, _ what: String) -> ImportError {
      ImportError(kind, file, "pickle: \(what) at byte \(at)")
    }
    func take(_ count: Int) throws -> ArraySlice<UInt8> {
      guard count >= 0, bytes.count - at >= count else { throw fail(.truncated, "truncated data") }
      defer { at += count }
      return bytes[at..<at + count]
    }
    func unsigned(_ count: Int) throws -> Int {
      try take(count).reversed().reduce(0) { $0 << 8 | Int($1) }
    }
    func push(_ value: PickleValue) throws {
      created += 1
      guard created <= maxValues else { throw fail(.limitExceeded, "more than \(maxValues) values") }
      stack.append(value)
    }
    func pop() throws -> PickleValue {
      guard let value = stack.popLast() else { throw fail(.malformed, "stack underflow") }
      if let mark = marks.last, stack.count < mark { throw fail(.malformed, "stack underflow below a mark") }
      return value
    }
    func popToMark() throws -> [PickleValue] {
      guard let mark = marks.popLast() else { throw fail(.malformed, "no mark") }
      defer { stack.removeSubrange(mark...) }
      return Array(stack[mark...])
    }
    func text(_ count: Int) throws -> String {
      guard count <= bytes.count else { throw fail(.truncated, "string longer than the file") }
      return String(decoding: try take(count), as: UTF8.self)
    }
    func line() throws -> String {
      guard let end = bytes[at...].firstIndex(of: 0x0A) else { throw fail(.truncated, "unterminated line") }
      defer { at = end + 1 }
      return String(decoding: bytes[at..<end], as: UTF8.self)
    }
    func global(_ module: String, _ name: String, opcode: String) throws -> PickleValue {
      guard allowed.contains("\(module).\(name)") else {
        throw fail(
          .unsafePickle,
          "\(opcode) \(module).\(name) is not allowed (kswap runs no pickle code and reads only the globals torch.save writes for tensors)"
        )
      }
      return .global(module: module, name: name)
    }
    /// Marks `children` as placed inside a container of depth `depth` (checked against the limit).
    func seal(_ children: [PickleValue], depth: Int) throws {
      guard depth <= maxNesting else {
        throw fail(.limitExceeded, "containers nested deeper than \(maxNesting) levels")
      }
      for child in children {
        switch child {
        case .list(let list): list.sealed = true
        case .dict(let dict): dict.sealed = true
        default: break
        }
      }
    }
    func tuple(_ items: [PickleValue]) throws -> PickleValue {
      let tuple = PickleTuple(items)
      try seal(items, depth: tuple.depth)
      return .tuple(tuple)
    }
    func call(_ opcode: String, _ callee: PickleValue, _ arguments: [PickleValue]) throws -> PickleValue {
      guard case .global(let module, let name) = callee else {
        throw fail(.malformed, "\(opcode) of a \(callee.kind), not a global")
      }
      try seal(arguments, depth: 1 + (arguments.map(\.depth).max() ?? 0))
      guard let value = try reduce(module, name, arguments) else {
        throw fail(.unsafePickle, "\(opcode) of \(module).\(name) is not allowed (kswap runs no pickle code)")
      }
      return value
    }
    /// The open container a SETITEM(S), APPEND(S) or ADDITEMS adds to: on the stack, never sealed.
    func target(_ opcode: String, _ children: [PickleValue]) throws -> PickleValue {
      guard let target = stack.last else { throw fail(.malformed, "\(opcode) with nothing to add to") }
      let sealed: Bool
      switch target {
      case .list(let list): sealed = list.sealed
      case .dict(let dict): sealed = dict.sealed
      default: throw fail(.malformed, "\(opcode) on a \(target.kind)")
      }
      guard !sealed else {
        throw fail(
          .malformed, "\(opcode) on a \(target.kind) already inside another value (a self-referencing structure)")
      }
      for child in children {
        if case .list(let list) = child, case .list(let into) = target, list === into {
          throw fail(.malformed, "\(opcode) of a list into itself")
        }
        if case .dict(let dict) = child, case .dict(let into) = target, dict === into {
          throw fail(.malformed, "\(opcode) of a dict into itself")
        }
      }
      let depth = 1 + (children.map(\.depth).max() ?? 0)
      try seal(children, depth: depth)
      switch target {
      case .list(let list): list.depth = max(list.depth, depth)
      case .dict(let dict): dict.depth = max(dict.depth, depth)
      default: break
      }
      return target
    }
    func setItems(_ opcode: String, _ pairs: [PickleValue]) throws {
      guard pairs.count % 2 == 0 else { throw fail(.malformed, "odd number of dict items") }
      guard case .dict(let dict) = try target(opcode, pairs) else { throw fail(.malformed, "\(opcode) on a list") }
      for index in stride(from: 0, to: pairs.count, by: 2) { dict.entries.append((pairs[index], pairs[index + 1])) }
    }
    func append(_ opcode: String, _ items: [PickleValue]) throws {
      guard case .list(let list) = try target(opcode, items) else { throw fail(.malformed, "\(opcode) on a dict") }
      list.items += items
    }
    func memoize(_ key: Int) throws {
      guard let top = stack.last else { throw fail(.malformed, "memoizing with an empty stack") }
      if key < memo.count {
        memo[key] = top
        return
      }
      guard memo.count + sparseMemo.count < maxValues else {
        throw fail(.limitExceeded, "more than \(maxValues) memo entries")
      }
      if key == memo.count { memo.append(top) } else { sparseMemo[key] = top }
    }

    while true {
      let opcode = try take(1).first!
      switch opcode {
      case 0x80: _ = try take(1)  // PROTO
      case 0x95: _ = try take(8)  // FRAME: a length hint
      case 0x2E:  // STOP
        guard let result = stack.last else { throw fail(.malformed, "STOP with an empty stack") }
        return result
      case 0x28: marks.append(stack.count)  // MARK
      case 0x29: try push(tuple([]))  // EMPTY_TUPLE
      case 0x5D: try push(.list(PickleList()))  // EMPTY_LIST
      case 0x7D, 0x8F: try push(.dict(PickleDict()))  // EMPTY_DICT; EMPTY_SET kept as a dict
      case 0x4E: try push(.none)
      case 0x88: try push(.bool(true))
      case 0x89: try push(.bool(false))
      case 0x4A: try push(.int(Int64(Int32(truncatingIfNeeded: try unsigned(4)))))  // BININT
      case 0x4B: try push(.int(Int64(try unsigned(1))))  // BININT1
      case 0x4D: try push(.int(Int64(try unsigned(2))))  // BININT2
      case 0x8A, 0x8B:  // LONG1, LONG4: little-endian two's complement
        let count = try unsigned(opcode == 0x8A ? 1 : 4)
        guard count <= 8 else { throw fail(.unsupported, "integer of \(count) bytes is too large") }
        let raw = try take(count)
        var value: UInt64 = 0
        for (shift, byte) in raw.enumerated() { value |= UInt64(byte) << (8 * UInt64(shift)) }
        if count > 0 && count < 8 && raw.last! & 0x80 != 0 { value |= ~0 << (8 * UInt64(count)) }
        try push(.int(Int64(bitPattern: value)))
      case 0x47: try push(.float(Double(bitPattern: try take(8).reduce(0) { $0 << 8 | UInt64($1) })))  // BINFLOAT, big-endian
      case 0x58: try push(.string(try text(unsigned(4))))  // BINUNICODE
      case 0x8C: try push(.string(try text(unsigned(1))))  // SHORT_BINUNICODE
      case 0x8D: try push(.string(try text(unsigned(8))))  // BINUNICODE8
      case 0x54: try push(.string(try text(unsigned(4))))  // BINSTRING (Python 2 str)
      case 0x55: try push(.string(try text(unsigned(1))))  // SHORT_BINSTRING
      case 0x42: try push(.bytes(Array(try take(unsigned(4)))))  // BINBYTES
      case 0x43: try push(.bytes(Array(try take(unsigned(1)))))  // SHORT_BINBYTES
      case 0x8E, 0x96: try push(.bytes(Array(try take(unsigned(8)))))  // BINBYTES8, BYTEARRAY8
      case 0x63: try push(global(try line(), try line(), opcode: Pickle.name(of: opcode)))  // GLOBAL
      case 0x93:  // STACK_GLOBAL
        let name = try pop(), module = try pop()
        guard let module = module.string, let name = name.string else {
          throw fail(.malformed, "STACK_GLOBAL needs two strings")
        }
        try push(global(module, name, opcode: Pickle.name(of: opcode)))
      case 0x74: try push(tuple(try popToMark()))  // TUPLE
      case 0x85: try push(tuple([try pop()]))  // TUPLE1
      case 0x86:  // TUPLE2
        let second = try pop(), first = try pop()
        try push(tuple([first, second]))
      case 0x87:  // TUPLE3
        let third = try pop(), second = try pop(), first = try pop()
        try push(tuple([first, second, third]))
      case 0x6C:  // LIST
        let items = try popToMark()
        let list = PickleList(items)
        try seal(items, depth: list.depth)
        try push(.list(list))
      case 0x64:  // DICT
        let pairs = try popToMark()
        try push(.dict(PickleDict()))
        try setItems(Pickle.name(of: opcode), pairs)
      case 0x71: try memoize(try unsigned(1))  // BINPUT
      case 0x72: try memoize(try unsigned(4))  // LONG_BINPUT
      case 0x94: try memoize(memo.count + sparseMemo.count)  // MEMOIZE: the next number
      case 0x68, 0x6A:  // BINGET, LONG_BINGET
        let key = try unsigned(opcode == 0x68 ? 1 : 4)
        guard let value = key < memo.count ? memo[key] : sparseMemo[key] else {
          throw fail(.malformed, "memo \(key) was never stored")
        }
        try push(value)
      case 0x51:  // BINPERSID
        let id = try pop()
        guard case .tuple(let tuple) = id else { throw fail(.malformed, "BINPERSID of a \(id.kind), not a tuple") }
        try seal(tuple.items, depth: tuple.depth + 1)
        try push(.persistent(tuple))
      case 0x52:  // REDUCE
        let arguments = try pop(), callee = try pop()
        guard let items = arguments.items else { throw fail(.malformed, "REDUCE arguments are not a tuple") }
        try push(call(Pickle.name(of: opcode), callee, items))
      case 0x81:  // NEWOBJ: cls.__new__(cls, *args)
        let arguments = try pop(), callee = try pop()
        try push(call(Pickle.name(of: opcode), callee, arguments.items ?? []))
      case 0x92:  // NEWOBJ_EX
        _ = try pop()
        let arguments = try pop(), callee = try pop()
        try push(call(Pickle.name(of: opcode), callee, arguments.items ?? []))
      case 0x62:  // BUILD: only an OrderedDict's attributes (a state dict's _metadata), which are not needed
        _ = try pop()
        guard let target = stack.last else { throw fail(.malformed, "BUILD with no object") }
        guard case .dict = target else {
          throw fail(
            .unsafePickle, "BUILD on a \(target.kind) is not allowed (only a dict's attributes are read, and ignored)")
        }
      case 0x73:  // SETITEM
        let value = try pop(), key = try pop()
        try setItems(Pickle.name(of: opcode), [key, value])
      case 0x75: try setItems(Pickle.name(of: opcode), try popToMark())  // SETITEMS
      case 0x61: try append(Pickle.name(of: opcode), [try pop()])  // APPEND
      case 0x65: try append(Pickle.name(of: opcode), try popToMark())  // APPENDS
      case 0x90:  // ADDITEMS (sets): the content is not needed
        _ = try target(Pickle.name(of: opcode), try popToMark())
      case 0x91:  // FROZENSET: kept as an empty tuple
        _ = try popToMark()
        try push(tuple([]))
      case 0x30: _ = try pop()  // POP
      case 0x31: _ = try popToMark()  // POP_MARK
      case 0x32:  // DUP
        guard let top = stack.last else { throw fail(.malformed, "DUP on an empty stack") }
        try push(top)
      case 0x69, 0x6F, 0x82, 0x83, 0x84:  // INST, OBJ, EXT1, EXT2, EXT4
        throw fail(
          .unsafePickle, "opcode \(Pickle.name(of: opcode)) is not allowed: it calls a class or looks a callable up")
      default:
        let hex = "0x\(String(opcode, radix: 16))"
        let named = opcodeNames[opcode].map { "\($0) (\(hex))" } ?? hex
        throw fail(.unsupported, "opcode \(named) is not supported")
      }
    }
  }
}
