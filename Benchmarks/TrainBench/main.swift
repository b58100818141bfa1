// Times what `kswap-learn` and `kswap-eval` run, on one ViT configuration; prints one JSON line.
// Train: `StageTrainer.trainStep` of a learning stage (forward on the joined learn + retain batch, the
// stage objective with the group-sparse term, backward, AdamW). Forward: `ViTNetwork.logits`.
// With `--task segmentation`: a step of `SupervisedTrainer` on scenes with pixel masks (what
// `kswap-pretrain --task segmentation` runs: forward to pixel logits, the per-pixel cross-entropy with
// ignored pixels, backward, AdamW), every parameter trainable, or with `--lora 1` only LoRA on the MLPs.
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
let segmentation =
  CommandLine.arguments.firstIndex(of: "--task").map {
    $0 + 1 < CommandLine.arguments.count && CommandLine.arguments[$0 + 1] == "segmentation"
  } ?? false
let loraOnly = argument("lora", 0) == 1
let config = ViTConfig(
  imageSize: image, patchSize: patch, channels: channels, dim: dim, depth: depth, heads: heads, classes: classes,
  task: segmentation ? .segmentation : .classification)
let dropoutProbability =
  CommandLine.arguments.firstIndex(of: "--dropout").flatMap {
    $0 + 1 < CommandLine.arguments.count ? Float(CommandLine.arguments[$0 + 1]) : nil
  } ?? 0

/// A side's measurements: seconds per training step after the warm-up, per inference forward, process
/// CPU seconds per training step, and the last step's loss.
struct Timings {
  var train: [Double] = []
  var forward: [Double] = []
  var cpuPerStep = 0.0
  var loss: Float = 0
}

/// Seconds per inference forward on `images`: the first of 1 + max(3, steps) calls is a warm-up.
@MainActor func timeForward(_ network: ViTNetwork, _ images: Tensor) -> [Double] {
  var times: [Double] = []
  for s in 0..<(1 + max(3, steps)) {
    let t0 = now()
    _ = network.logits(images)
    if s > 0 { times.append(now() - t0) }
  }
  return times
}

/// The learning step: the model and trainer exactly as `kswap-learn` builds them (random weights instead
/// of a checkpoint).
@MainActor func timeLearningStep() -> Timings {
  var rng = SeededGenerator(seed: 0)
  let model = VisionTransformer(config: config, generator: &rng)
  model.addLoRA(LoRAConfig(rank: rank, alpha: 1, initialization: .paper), generator: &rng)
  let network = ViTNetwork(model: model)
  network.setTrainable(.lora)

  // Two sets of random U8 images, each big enough for one half-batch per step without cycling.
  let half = batch / 2, perSet = half * (warmup + steps)
  func randomSet() -> LabeledImages {
    let bytes = (0..<(perSet * channels * image * image)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    return LabeledImages(
      pixels: .bytes(bytes), labels: (0..<perSet).map { $0 % classes }, channels: channels, height: image,
      width: image, mean: Array(repeating: 0.5, count: channels), std: Array(repeating: 0.25, count: channels))
  }
  let learnSet = randomSet(), retainSet = randomSet()
  var settings = StageSettings(kind: .learn)
  settings.batchSize = half
  settings.dropout = dropoutProbability
  let trainer = StageTrainer(network: network, settings: settings, stageSet: learnSet, retainSet: retainSet, seed: 0)

  var timings = Timings()
  var cpu0 = cpuTime()
  for s in 0..<(warmup + steps) {
    if s == warmup { cpu0 = cpuTime() }
    let indices = Array((s * half)..<((s + 1) * half))
    let t0 = now()
    timings.loss = trainer.trainStep(stageIndices: indices, retainIndices: indices, rate: 1e-2).total
    if s >= warmup { timings.train.append(now() - t0) }
  }
  timings.cpuPerStep = (cpuTime() - cpu0) / Double(steps)
  // Forward: the evaluation path on the first batch (normalised once, outside the timing).
  timings.forward = timeForward(network, learnSet.batch(Array(0..<min(batch, perSet))))
  return timings
}

/// The segmentation step of `kswap-pretrain --task segmentation` (SupervisedTrainer on random scenes, an
/// eighth of the pixels ignored), every parameter trainable, or only LoRA on the MLPs with `--lora 1`.
/// A step's time runs from the end of the step before (the trainer's progress callback) to its own end.
@MainActor func timeSegmentationStep() -> Timings {
  var rng = SeededGenerator(seed: 0)
  let model = VisionTransformer(config: config, generator: &rng)
  if loraOnly { model.addLoRA(LoRAConfig(rank: rank, alpha: 1, initialization: .paper), generator: &rng) }
  let network = ViTNetwork(model: model)
  network.setTrainable(loraOnly ? .lora : .all)
  let count = batch * (warmup + steps), pixels = image * image
  let bytes = (0..<(count * channels * pixels)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
  let masks = (0..<(count * pixels)).map { _ in
    let r = rng.next()
    return r % 8 == 0 ? SegmentedImages.ignoreLabel : UInt8((r >> 8) % UInt64(classes))
  }
  let set = SegmentedImages(
    pixels: .bytes(bytes), masks: masks, channels: channels, height: image, width: image,
    mean: Array(repeating: 0.5, count: channels), std: Array(repeating: 0.25, count: channels))
  var settings = SupervisedSettings()
  settings.epochs = 1
  settings.batchSize = batch
  settings.dropout = dropoutProbability
  let trainer = SupervisedTrainer(network: network, settings: settings, set: .segmented(set), seed: 0)

  var timings = Timings()
  var cpu0 = cpuTime(), last = now()
  trainer.runEpoch { step, _, loss, _ in
    let t = now()
    if step > warmup { timings.train.append(t - last) }
    if step == warmup { cpu0 = cpuTime() }
    timings.loss = loss
    last = t
  }
  timings.cpuPerStep = (cpuTime() - cpu0) / Double(steps)
  timings.forward = timeForward(network, set.batch(Array(0..<batch)))
  return timings
}

let timings = segmentation ? timeSegmentationStep() : timeLearningStep()

// Matrix-product FLOPs per image of the forward pass and of the training step. A LoRA step's backward
// computes input gradients through every frozen layer down to block 0, whose attention branch it skips
// (nothing below trains), plus the LoRA weight gradients (dB, d(hidden), dA, and the adapter's dx).
// Training every parameter, each product's backward is two of its size (input and weight gradients),
// but the patch embedding's (no input gradient). A segmentation head runs on every token.
let n = 1 + (image / patch) * (image / patch), d = Double(dim), m = Double(4 * dim), nt = Double(n)
let attentionFlops = 2 * nt * d * 3 * d + 4 * nt * nt * d + 2 * nt * d * d
let mlpFlops = 4 * nt * d * m
let withLoRA = !segmentation || loraOnly
let loraForward = withLoRA ? Double(depth) * 4 * nt * Double(rank) * (d + m) : 0
let embeddingFlops = 2 * Double(n - 1) * d * Double(channels * patch * patch)
let headFlops = (segmentation ? nt : 1) * 2 * d * Double(classes)
let forwardFlops = embeddingFlops + Double(depth) * (attentionFlops + mlpFlops) + headFlops + loraForward
let backwardFlops =
  withLoRA
  ? Double(depth - 1) * (attentionFlops + 4 * nt * nt * d) + Double(depth) * mlpFlops + headFlops + 2 * loraForward
  : 2 * (forwardFlops - embeddingFlops) + embeddingFlops
let trainFlops = forwardFlops + backwardFlops

func peakRSSMiB() -> Double {
  guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
  for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
    return Double(line.split(separator: " ", omittingEmptySubsequences: true)[1]).map { $0 / 1024 } ?? 0
  }
  return 0
}

let result: [String: Any] = [
  "train_s": timings.train, "forward_s": timings.forward, "cpu_s_per_step": timings.cpuPerStep, "batch": batch,
  "train_gflop_per_img": trainFlops / 1e9, "forward_gflop_per_img": forwardFlops / 1e9,
  "peak_mib": peakRSSMiB(), "blas": BLASRuntime.summary, "last_loss": Double(timings.loss),
]
let json = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
print(String(decoding: json, as: UTF8.self))
