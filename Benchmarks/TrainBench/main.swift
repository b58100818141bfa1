// Times what `kswap-learn` and `kswap-eval` run, on one ViT configuration; prints one JSON line.
// Train: `StageTrainer.trainStep` of a learning stage (forward on the joined learn + retain batch, the
// stage objective with the group-sparse term, backward, AdamW). Forward: `ViTNetwork.logits`.
// Driven by Scripts/bench-train, which runs PyTorch eager and torch.compile on the same configuration.
// Dropout is off unless `--dropout P` (PyTorch's side has none); kswap-learn trains with 0.1.
import Foundation
import SeededRandom
import Swap
import Tensors
import ViT

BLASRuntime.selectFastKernels()

func argument(_ name: String, _ fallback: Int) -> Int {
  let args = CommandLine.arguments
  guard let i = args.firstIndex(of: "--" + name), i + 1 < args.count, let v = Int(args[i + 1]) else { return fallback }
  return v
}

func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
func cpuTime() -> Double {
  var t = timespec()
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
  return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

// --threads N: kswap's thread count (default: OpenBLAS's, i.e. OPENBLAS_NUM_THREADS or the cores).
if argument("threads", 0) > 0 { BLASRuntime.setThreadCount(argument("threads", 0)) }

// --sgemm N: the machine's sgemm ceiling (N x N x N through BLAS.gemm, best of 4), then exit.
if CommandLine.arguments.contains("--sgemm") {
  let n = argument("sgemm", 2048)
  var g = SeededGenerator(seed: 1)
  let a = Tensor.uniform(shape: [n, n], low: 0, high: 1, generator: &g), b = a.copy(), c = Tensor(shape: [n, n])
  var best = Double.infinity
  for _ in 0..<4 {
    let t0 = now()
    BLAS.gemm(m: n, n: n, k: n, a: a.pointer, lda: n, b: b.pointer, ldb: n, c: c.pointer, ldc: n)
    best = min(best, now() - t0)
  }
  print("{\"sgemm_gflops\":\(2 * Double(n * n * n) / best / 1e9),\"blas\":\"\(BLASRuntime.summary)\"}")
  exit(0)
}

let image = argument("image", 224), patch = argument("patch", 16), channels = argument("channels", 3)
let dim = argument("dim", 192), depth = argument("depth", 12), heads = argument("heads", 3)
let classes = argument("classes", 100), batch = argument("batch", 32), steps = argument("steps", 5)
let warmup = argument("warmup", 1), rank = argument("rank", 8)
let config = ViTConfig(
  imageSize: image, patchSize: patch, channels: channels, dim: dim, depth: depth, heads: heads, classes: classes)

// The model and trainer exactly as `kswap-learn` builds them (random weights instead of a checkpoint).
var rng = SeededGenerator(seed: 0)
let model = VisionTransformer(config: config, generator: &rng)
model.addLoRA(LoRAConfig(rank: rank, alpha: 1, initialization: .paper), generator: &rng)
let network = ViTNetwork(model: model)
network.setTrainable(.lora)

// Two sets of random U8 images, each big enough for one half-batch per step without cycling.
let half = batch / 2, perSet = half * (warmup + steps)
@MainActor func randomSet() -> LabeledImages {
  let bytes = (0..<(perSet * channels * image * image)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
  return LabeledImages(
    pixels: .bytes(bytes), labels: (0..<perSet).map { $0 % classes }, channels: channels, height: image,
    width: image, mean: Array(repeating: 0.5, count: channels), std: Array(repeating: 0.25, count: channels))
}
let learnSet = randomSet(), retainSet = randomSet()
var settings = StageSettings(kind: .learn)
settings.batchSize = half
settings.dropout =
  CommandLine.arguments.firstIndex(of: "--dropout").flatMap {
    $0 + 1 < CommandLine.arguments.count ? Float(CommandLine.arguments[$0 + 1]) : nil
  } ?? 0
let trainer = StageTrainer(network: network, settings: settings, stageSet: learnSet, retainSet: retainSet, seed: 0)

var trainTimes: [Double] = []
var lastTotal: Float = 0
var cpu0 = cpuTime()
for s in 0..<(warmup + steps) {
  if s == warmup { cpu0 = cpuTime() }
  let indices = Array((s * half)..<((s + 1) * half))
  let t0 = now()
  lastTotal = trainer.trainStep(stageIndices: indices, retainIndices: indices, rate: 1e-2).total
  if s >= warmup { trainTimes.append(now() - t0) }
}
let cpuPerStep = (cpuTime() - cpu0) / Double(steps)

// Forward: the evaluation path on the first batch (normalised once, outside the timing).
let evalImages = learnSet.batch(Array(0..<min(batch, perSet)))
var forwardTimes: [Double] = []
for s in 0..<(1 + max(3, steps)) {
  let t0 = now()
  _ = network.logits(evalImages)
  if s > 0 { forwardTimes.append(now() - t0) }
}

// Matrix-product FLOPs per image of the forward pass and of the LoRA training step. Backward computes
// input gradients through every frozen layer down to block 0, whose attention branch it skips (nothing
// below trains), plus the LoRA weight gradients (dB, d(hidden), dA, and the adapter's dx).
let n = 1 + (image / patch) * (image / patch), d = Double(dim), m = Double(4 * dim), nt = Double(n)
let attentionFlops = 2 * nt * d * 3 * d + 4 * nt * nt * d + 2 * nt * d * d
let mlpFlops = 4 * nt * d * m
let loraForward = Double(depth) * 4 * nt * Double(rank) * (d + m)
let forwardFlops =
  2 * Double(n - 1) * d * Double(channels * patch * patch) + Double(depth) * (attentionFlops + mlpFlops)
  + 2 * d * Double(classes) + loraForward
let backwardFlops =
  Double(depth - 1) * (attentionFlops + 4 * nt * nt * d) + Double(depth) * mlpFlops
  + 2 * d * Double(classes) + 2 * loraForward
let trainFlops = forwardFlops + backwardFlops

func peakRSSMiB() -> Double {
  guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
  for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
    return Double(line.split(separator: " ", omittingEmptySubsequences: true)[1]).map { $0 / 1024 } ?? 0
  }
  return 0
}

let result: [String: Any] = [
  "train_s": trainTimes, "forward_s": forwardTimes, "cpu_s_per_step": cpuPerStep, "batch": batch,
  "train_gflop_per_img": trainFlops / 1e9, "forward_gflop_per_img": forwardFlops / 1e9,
  "peak_mib": peakRSSMiB(), "blas": BLASRuntime.summary, "last_loss": Double(lastTotal),
]
let json = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
print(String(decoding: json, as: UTF8.self))
