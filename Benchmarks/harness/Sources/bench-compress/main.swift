// Usage: bench-compress IN.safetensors SCRATCH_DIR [REPEATS [LEVEL]]
// Packs IN into the compressed container at zstd LEVEL (default 3) and unpacks it again, REPEATS
// times (default 3), and
// prints one JSON line: raw and stored bytes, best compress and decompress seconds (wall and
// CPU). Checks the
// round trip bit for bit.

import Foundation
import TensorFile

let arguments = CommandLine.arguments
guard arguments.count >= 3 else {
  FileHandle.standardError.write(
    "usage: bench-compress IN.safetensors SCRATCH_DIR [REPEATS [LEVEL]]\n".data(using: .utf8)!)
  exit(64)
}
let input = arguments[1]
let packed = arguments[2] + "/bench.kst"
let repeats = arguments.count > 3 ? Int(arguments[3]) ?? 3 : 3
let level = arguments.count > 4 ? Int(arguments[4]) ?? 3 : 3

func now() -> Double { Date().timeIntervalSinceReferenceDate }

/// CPU seconds this process has used: on a shared machine a steadier measure than wall time.
func cpu() -> Double {
  var spec = timespec()
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &spec)
  return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}

do {
  let source = try TensorReader(path: input)
  var tensors: [(info: TensorInfo, bytes: [UInt8])] = []
  try source.forEachTensor { info, bytes in tensors.append((info, bytes)) }
  let raw = tensors.reduce(0) { $0 + $1.info.byteCount }
  var bestCompress = Double.infinity
  var bestDecompress = Double.infinity
  var bestCompressCPU = Double.infinity
  var bestDecompressCPU = Double.infinity
  for _ in 0..<repeats {
    let start = now()
    let startCPU = cpu()
    let writer = try TensorWriter(
      path: packed, format: .compressed(level: level), metadata: source.metadata,
      tensors: tensors.map(\.info), order: .asGiven)
    for (info, bytes) in tensors { try writer.write(info.name, bytes: bytes) }
    try writer.finish()
    bestCompress = min(bestCompress, now() - start)
    bestCompressCPU = min(bestCompressCPU, cpu() - startCPU)

    let readStart = now()
    let readStartCPU = cpu()
    let reader = try TensorReader(path: packed)
    // Timed: a consumer that takes each tensor and lets it go, as a streaming tool does.
    var delivered = 0
    try reader.forEachTensor { _, bytes in delivered += bytes.count }
    bestDecompress = min(bestDecompress, now() - readStart)
    bestDecompressCPU = min(bestDecompressCPU, cpu() - readStartCPU)
    // Untimed: the round trip is checked bit for bit.
    var index = 0
    var same = delivered == raw
    try TensorReader(path: packed).forEachTensor { info, bytes in
      same = same && info.name == tensors[index].info.name && bytes == tensors[index].bytes
      index += 1
    }
    same = same && index == tensors.count
    guard same else { throw TensorFileError(.corrupt, file: packed, "round trip differs") }
  }
  let stored = (try FileManager.default.attributesOfItem(atPath: packed)[.size] as! NSNumber).intValue
  print(
    "{\"raw\":\(raw),\"stored\":\(stored),\"compress_s\":\(bestCompress),\"decompress_s\":\(bestDecompress),\"compress_cpu_s\":\(bestCompressCPU),\"decompress_cpu_s\":\(bestDecompressCPU)}"
  )
} catch {
  FileHandle.standardError.write("bench-compress: \(error)\n".data(using: .utf8)!)
  exit(2)
}
