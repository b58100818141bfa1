// Times kswap's LoRA training step and forward pass on one ViT configuration; prints one JSON line.
// Driven by Scripts/bench-train, which runs PyTorch on the same configuration in the same run.
import Foundation
import Tensors
import Swap
import ViT
import SeededRandom

BLASRuntime.selectFastKernels()

func argument(_ name: String, _ fallback: Int) -> Int {
    let args = CommandLine.arguments
    guard let i = args.firstIndex(of: "--" + name), i + 1 < args.count, let v = Int(args[i + 1]) else { return fallback }
    return v
}

// --sgemm N: the machine's sgemm ceiling (N x N x N, best of 3), then exit.
if CommandLine.arguments.contains("--sgemm") {
    let n = argument("sgemm", 2048)
    var g = SeededGenerator(seed: 1)
    let a = Tensor.uniform(shape: [n, n], low: 0, high: 1, generator: &g), b = a.copy(), c = Tensor(shape: [n, n])
    var best = Double.infinity
    for _ in 0..<4 {
        let t0 = DispatchTime.now().uptimeNanoseconds
        BLAS.gemm(m: n, n: n, k: n, a: a.pointer, lda: n, b: b.pointer, ldb: n, c: c.pointer, ldc: n)
        best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
    }
    print("{\"sgemm_gflops\":\(2 * Double(n * n * n) / best / 1e9)}")
    exit(0)
}

let image = argument("image", 224), patch = argument("patch", 16), channels = argument("channels", 3)
let dim = argument("dim", 192), depth = argument("depth", 12), heads = argument("heads", 3)
let classes = argument("classes", 100), batch = argument("batch", 32), steps = argument("steps", 5)
let warmup = argument("warmup", 1), rank = argument("rank", 8)
let config = ViTConfig(imageSize: image, patchSize: patch, channels: channels, dim: dim, depth: depth, heads: heads, classes: classes)

var rng = SeededGenerator(seed: 0)
let model = VisionTransformer(config: config, generator: &rng)
model.addLoRA(LoRAConfig(rank: rank, alpha: 1), generator: &rng)
model.setTrainable(.lora)
var optimizer = AdamW(parameters: model.trainableParameters, weightDecay: 0.05)
let images = Tensor.uniform(shape: [batch, channels, image, image], low: -1, high: 1, generator: &rng)
let labels = (0..<batch).map { $0 % classes }
let dLogits = Tensor(shape: [batch, classes])

func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
func cpuTime() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

@MainActor func trainStep() -> Float {
    model.zeroGradients()
    let logits = model.forward(images, training: true)
    let loss = crossEntropy(logits: logits, rows: 0..<batch, labels: labels, gradient: dLogits)
    model.backward(dLogits)
    optimizer.update(model.trainableParameters, rate: 1e-3)
    return loss
}

for _ in 0..<warmup { _ = trainStep() }
var best = Double.infinity, total = 0.0
let cpu0 = cpuTime()
for _ in 0..<steps {
    let t0 = now()
    _ = trainStep()
    let t = now() - t0
    best = min(best, t)
    total += t
}
let cpuPerStep = (cpuTime() - cpu0) / Double(steps)
var forwardBest = Double.infinity
for _ in 0..<max(2, steps / 2) {
    let t0 = now()
    _ = model.forward(images)
    forwardBest = min(forwardBest, now() - t0)
}

// Matrix-product FLOPs per image: forward, and the LoRA-mode training step (forward, input
// gradients through every frozen layer above the patch embedding, LoRA weight gradients).
let n = 1 + (image / patch) * (image / patch), d = Double(dim), m = Double(4 * dim), nt = Double(n)
let perBlock = 2 * nt * d * 3 * d + 4 * nt * nt * d + 2 * nt * d * d + 4 * nt * d * m
let loraForward = Double(depth) * 2 * (2 * nt * Double(rank) * (d + m))
let forwardFlops = 2 * Double(n - 1) * d * Double(channels * patch * patch) + Double(depth) * perBlock + 2 * d * Double(classes) + loraForward
let backwardFlops = Double(depth) * (perBlock + 4 * nt * nt * d) + 2 * d * Double(classes) + 2 * loraForward
let trainFlops = forwardFlops + backwardFlops

func peakRSSMiB() -> Double {
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        return Double(line.split(separator: " ")[1]).map { $0 / 1024 } ?? 0
    }
    return 0
}

let result: [String: Any] = [
    "train_img_s": Double(batch) / best, "cpu_s_per_step": cpuPerStep, "train_img_s_mean": Double(batch * steps) / total,
    "forward_img_s": Double(batch) / forwardBest,
    "train_gflops": trainFlops * Double(batch) / best / 1e9, "forward_gflops": forwardFlops * Double(batch) / forwardBest / 1e9,
    "train_gflop_per_img": trainFlops / 1e9, "peak_mib": peakRSSMiB(), "blas": BLASRuntime.summary,
]
let json = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
print(String(decoding: json, as: UTF8.self))
