// Interop with the reference implementation: files written by Python safetensors 0.8.0 are read by
// kswap value by value, and files kswap writes are loaded by Python, across all common dtypes.
// Needs .venv/bin/python with safetensors and numpy (Scripts/setup installs them).

import Foundation
import SeededRandom
import Testing

@testable import TensorFile

private let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
  .deletingLastPathComponent().path
private let python = repositoryRoot + "/.venv/bin/python"

/// `write DIR`: writes DIR/py.safetensors (every common dtype, special float values, a scalar, a
/// zero-size tensor) and DIR/expected.json (per tensor: dtype, shape, raw bytes as hex, and for
/// floats each value as text). `read FILE`: loads FILE with the reference and prints the same JSON
/// shape (metadata under "__metadata__").
private let helper = #"""
  import json, sys, numpy as np, safetensors
  from safetensors import TensorSpec
  specials = [0.0, -0.0, 1.5, -2.25, 1e-3, 3.140625, 65504.0, 6e-8, -1e-40, float("inf"), float("-inf"), float("nan")]
  def bf16_bits(a):
      bits = a.astype("<f4").view("<u4").astype(np.uint64)
      return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype("<u2")
  def describe(name, dtype, shape, data):
      out = {"dtype": dtype, "shape": list(shape), "hex": bytes(data).hex()}
      kinds = {"F16": "<f2", "F32": "<f4", "F64": "<f8"}
      if dtype in kinds:
          out["values"] = [repr(float(v)) for v in np.frombuffer(bytes(data), kinds[dtype])]
      if dtype == "BF16":
          bits = np.frombuffer(bytes(data), "<u2").astype("<u4") << 16
          out["values"] = [repr(float(v)) for v in bits.view("<f4")]
      return out
  if sys.argv[1] == "write":
      floats = np.array(specials + list(np.linspace(-3, 3, 12)), dtype=np.float64).reshape(4, 6)
      ints = np.arange(-12, 12).reshape(2, 3, 4)
      arrays = {
          "bool": np.array([True, False, True]), "u8": np.arange(250, 256, dtype=np.uint8),
          "i8": np.array([-128, -1, 0, 127], dtype=np.int8), "i16": (ints * 1000).astype(np.int16),
          "u16": np.array([0, 1, 65535], dtype=np.uint16), "f16": floats.astype(np.float16),
          "i32": (ints * 100000).astype(np.int32), "u32": np.array([0, 4294967295], dtype=np.uint32),
          "f32": floats.astype(np.float32), "f64": floats, "i64": (ints * 10**15).astype(np.int64),
          "u64": np.array([0, 2**64 - 1], dtype=np.uint64), "scalar": np.array(2.5, dtype=np.float32),
          "empty": np.zeros((0, 3), dtype=np.float32),
      }
      bf16 = bf16_bits(floats.astype(np.float32))
      specs = {k: TensorSpec(dtype=v.dtype.name, shape=v.shape, data_ptr=v.ctypes.data, data_len=v.nbytes) for k, v in arrays.items()}
      specs["bf16"] = TensorSpec(dtype="bfloat16", shape=bf16.shape, data_ptr=bf16.ctypes.data, data_len=bf16.nbytes)
      safetensors.serialize_file(specs, sys.argv[2] + "/py.safetensors", metadata={"format": "pt", "source": "python"})
      expected = {k: describe(k, d["dtype"], d["shape"], d["data"]) for k, d in safetensors.deserialize(open(sys.argv[2] + "/py.safetensors", "rb").read())}
      json.dump(expected, open(sys.argv[2] + "/expected.json", "w"))
  else:
      data = open(sys.argv[2], "rb").read()
      out = {k: describe(k, d["dtype"], d["shape"], d["data"]) for k, d in safetensors.deserialize(data)}
      with safetensors.safe_open(sys.argv[2], framework="numpy") as f:
          out["__metadata__"] = f.metadata() or {}
      print(json.dumps(out))
  """#

private func runPython(_ arguments: [String]) throws -> String {
  guard FileManager.default.isExecutableFile(atPath: python) else {
    throw InteropSetupError(
      message: "\(python) is missing: run Scripts/setup (it installs safetensors==0.8.0 and numpy there)")
  }
  let process = Process()
  process.executableURL = URL(fileURLWithPath: python)
  process.arguments = ["-c", helper] + arguments
  let output = Foundation.Pipe()
  let errors = Foundation.Pipe()
  process.standardOutput = output
  process.standardError = errors
  try process.run()
  let text = output.fileHandleForReading.readDataToEndOfFile()
  let problems = errors.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  guard process.terminationStatus == 0 else {
    throw InteropSetupError(message: "python failed: " + String(decoding: problems, as: UTF8.self))
  }
  return String(decoding: text, as: UTF8.self)
}

private struct InteropSetupError: Error, CustomStringConvertible {
  let message: String
  var description: String { message }
}

private struct Described: Decodable {
  let dtype: String
  let shape: [Int]
  let hex: String
  let values: [String]?
}

private func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

/// Python's repr of a float64 as a Float (rounded to nearest even), NaN as NaN.
private func floatFromPython(_ text: String) -> Float {
  switch text {
  case "nan": return .nan
  case "inf": return .infinity
  case "-inf": return -.infinity
  default: return Float(Double(text)!)
  }
}

private func sameFloat(_ a: Float, _ b: Float) -> Bool { a.isNaN ? b.isNaN : a.bitPattern == b.bitPattern }

@Suite struct Interop {
  @Test func pythonWritesKswapReads() throws {
    let scratch = ScratchDirectory()
    _ = try runPython(["write", scratch.path])
    let expected = try JSONDecoder().decode([String: Described].self, from: Data(scratch.read("expected.json")))
    let reader = try TensorReader(path: scratch.file("py.safetensors"))
    #expect(reader.metadata == ["format": "pt", "source": "python"])
    #expect(Set(reader.tensors.map(\.name)) == Set(expected.keys))
    #expect(expected.count == 15)
    for (name, want) in expected {
      let info = try #require(reader.info(name))
      #expect(info.dtype.name == want.dtype, "\(name)")
      #expect(info.shape == want.shape, "\(name)")
      let bytes = try reader.bytes(of: name)
      #expect(hex(bytes) == want.hex, "\(name)")
      if let values = want.values {
        let floats = try reader.floats(of: name)
        #expect(floats.count == values.count)
        for (got, text) in zip(floats, values) {
          #expect(sameFloat(got, floatFromPython(text)), "\(name): \(got) vs \(text)")
        }
      }
    }
    // The same data round-tripped through the compressed container and back to plain is loaded by
    // the reference unchanged.
    var tensors: [(info: TensorInfo, bytes: [UInt8])] = []
    try reader.forEachTensor { tensors.append(($0, $1)) }
    try TensorWriter.write(
      path: scratch.file("x.kst"), format: .compressed, metadata: reader.metadata, tensors: tensors)
    var unpacked: [(info: TensorInfo, bytes: [UInt8])] = []
    try TensorReader(path: scratch.file("x.kst")).forEachTensor { unpacked.append(($0, $1)) }
    try TensorWriter.write(path: scratch.file("back.safetensors"), metadata: reader.metadata, tensors: unpacked)
    let loaded =
      try JSONSerialization.jsonObject(with: Data(runPython(["read", scratch.file("back.safetensors")]).utf8))
      as! [String: Any]
    for (name, want) in expected {
      let got = loaded[name] as! [String: Any]
      #expect(got["hex"] as? String == want.hex, "\(name)")
      #expect(got["dtype"] as? String == want.dtype, "\(name)")
    }
  }

  @Test func kswapWritesPythonReads() throws {
    let scratch = ScratchDirectory()
    var generator = SeededGenerator(seed: 7)
    var tensors: [(info: TensorInfo, bytes: [UInt8])] = []
    for dtype in DType.allCases {
      for (suffix, shape) in [("", [3, 4]), ("_scalar", []), ("_empty", [0, 2])] as [(String, [Int])] {
        let info = try TensorInfo(
          name: dtype.name.lowercased() + suffix, dtype: dtype,
          shape: dtype.isSubByte && suffix == "_scalar" ? [4] : shape)
        tensors.append((info, randomBytes(info.byteCount, using: &generator)))
      }
    }
    let floats: [Float] = [
      0, -0, 1.5, -2.25, 1e-3, .infinity, -.infinity, .nan, 65504, 1e-7, .greatestFiniteMagnitude,
      .leastNonzeroMagnitude,
    ]
    for dtype in [DType.f16, .bf16, .f32, .f64] {
      tensors.append(
        (
          try TensorInfo(name: "values_" + dtype.name, dtype: dtype, shape: [12]),
          try FloatConversion.bytes(from: floats, dtype: dtype)
        ))
    }
    let metadata = ["format": "pt", "quote\"and\\slash": "é\n\u{1F600}"]
    try TensorWriter.write(path: scratch.file("kswap.safetensors"), metadata: metadata, tensors: tensors)
    let loaded =
      try JSONSerialization.jsonObject(with: Data(runPython(["read", scratch.file("kswap.safetensors")]).utf8))
      as! [String: Any]
    #expect(loaded["__metadata__"] as? [String: String] == metadata)
    #expect(loaded.count == tensors.count + 1)
    for (info, bytes) in tensors {
      let got = try #require(loaded[info.name] as? [String: Any], "\(info.name)")
      #expect(got["dtype"] as? String == info.dtype.name)
      #expect(got["shape"] as? [Int] == info.shape)
      #expect(got["hex"] as? String == hex(bytes), "\(info.name)")
      if info.name.hasPrefix("values_") {
        let values = (got["values"] as! [String]).map(floatFromPython)
        let expected = try FloatConversion.floats(from: bytes, dtype: info.dtype)
        #expect(zip(values, expected).allSatisfy { sameFloat($0, $1) }, "\(info.name)")
      }
    }
  }
}
