import SeededRandom
import Tensors
import ViT

@testable import Swap

/// A two-layer classifier with a LoRA update on its first layer and everything else frozen, small
/// enough to train in milliseconds: logits = H relu(W x + s B A x) + c. It lets the trainer's tests
/// show learning and forgetting without the ViT.
final class TinyNetwork: SwapNetwork {
  let inputs: Int, hidden: Int, rank: Int
  let classCount: Int
  let scale: Float
  var w: [Float], head: [Float], headBias: [Float]
  let a: Parameter, b: Parameter
  private var lastInput: [Float] = [], lastProjected: [Float] = [], lastPre: [Float] = []
  private var lastCount = 0

  init(inputs: Int, hidden: Int, classes: Int, rank: Int, seed: UInt64) {
    self.inputs = inputs
    self.hidden = hidden
    self.rank = rank
    classCount = classes
    scale = 1
    var g = SeededGenerator(seed: seed)
    w = (0..<(hidden * inputs)).map { _ in (g.uniform(0, 1) - 0.5) * 1.0 }
    head = (0..<(classes * hidden)).map { _ in (g.uniform(0, 1) - 0.5) * 1.0 }
    headBias = [Float](repeating: 0, count: classes)
    a = Parameter(
      name: "lora_A.weight",
      value: Tensor(shape: [rank, inputs], values: (0..<(rank * inputs)).map { _ in (g.uniform(0, 1) - 0.5) * 0.5 }))
    b = Parameter(name: "lora_B.weight", value: Tensor(shape: [hidden, rank]))
    a.isTrainable = true
    b.isTrainable = true
  }

  var trainable: [Parameter] { [a, b] }
  var sparseGroups: [[Parameter]] { [[a, b]] }

  private func run(_ x: [Float], count: Int) -> (projected: [Float], pre: [Float], logits: [Float]) {
    var projected = [Float](repeating: 0, count: count * rank)
    var pre = [Float](repeating: 0, count: count * hidden)
    var logits = [Float](repeating: 0, count: count * classCount)
    for n in 0..<count {
      for j in 0..<rank {
        var s: Float = 0
        for i in 0..<inputs { s += a.value.pointer[j * inputs + i] * x[n * inputs + i] }
        projected[n * rank + j] = s
      }
      for o in 0..<hidden {
        var s: Float = 0
        for i in 0..<inputs { s += w[o * inputs + i] * x[n * inputs + i] }
        for j in 0..<rank { s += scale * b.value.pointer[o * rank + j] * projected[n * rank + j] }
        pre[n * hidden + o] = s
      }
      for k in 0..<classCount {
        var s = headBias[k]
        for o in 0..<hidden { s += head[k * hidden + o] * max(0, pre[n * hidden + o]) }
        logits[n * classCount + k] = s
      }
    }
    return (projected, pre, logits)
  }

  /// This network has no dropout sites: `dropout` changes nothing.
  func trainingForward(_ images: Tensor, dropout: Dropout?) -> Tensor {
    let count = images.shape[0]
    let r = run(images.scalars, count: count)
    lastInput = images.scalars
    lastProjected = r.projected
    lastPre = r.pre
    lastCount = count
    return Tensor(shape: [count, classCount], values: r.logits)
  }

  func logits(_ images: Tensor) -> Tensor {
    Tensor(shape: [images.shape[0], classCount], values: run(images.scalars, count: images.shape[0]).logits)
  }

  func backward(_ dLogits: Tensor) {
    let logitGradient = dLogits.scalars
    for n in 0..<lastCount {
      var dPre = [Float](repeating: 0, count: hidden)
      for o in 0..<hidden where lastPre[n * hidden + o] > 0 {
        var s: Float = 0
        for k in 0..<classCount { s += logitGradient[n * classCount + k] * head[k * hidden + o] }
        dPre[o] = s
      }
      var dProjected = [Float](repeating: 0, count: rank)
      for o in 0..<hidden {
        for j in 0..<rank {
          b.gradient!.pointer[o * rank + j] += scale * dPre[o] * lastProjected[n * rank + j]
          dProjected[j] += scale * b.value.pointer[o * rank + j] * dPre[o]
        }
      }
      for j in 0..<rank {
        for i in 0..<inputs { a.gradient!.pointer[j * inputs + i] += dProjected[j] * lastInput[n * inputs + i] }
      }
    }
  }
}

/// Points around one centre per class: images of 1 x 1 x `inputs`, as floats with identity normalisation.
func clusters(classes: [Int], perClass: Int, inputs: Int, seed: UInt64) -> LabeledImages {
  var g = SeededGenerator(seed: seed)
  var centres = SeededGenerator(seed: 99)
  let centre = (0..<20).map { _ in (0..<inputs).map { _ in centres.uniform(0, 1) * 4 - 2 } }
  var pixels: [Float] = []
  var labels: [Int] = []
  for c in classes {
    for _ in 0..<perClass {
      pixels += centre[c].map { $0 + (g.uniform(0, 1) - 0.5) * 0.6 }
      labels.append(c)
    }
  }
  return LabeledImages(
    pixels: .floats(pixels), labels: labels, channels: 1, height: 1, width: inputs,
    mean: [0], std: [1])
}

/// A random ViT with LoRA on its MLPs, B filled from U(-bScale, bScale) (a fresh adapter's B is zero,
/// which would leave A without gradient) and LoRA trainable, drawing everything from `generator`.
func loraNetwork(_ config: ViTConfig, lora: LoRAConfig, bScale: Float, generator: inout SeededGenerator) -> ViTNetwork {
  let model = VisionTransformer(config: config, generator: &generator)
  model.addLoRA(lora, generator: &generator)
  for layer in model.linears {
    if let b = layer.lora?.b.value { for i in 0..<b.count { b.pointer[i] = generator.uniform(-bScale, bScale) } }
  }
  let network = ViTNetwork(model: model)
  network.setTrainable(.lora)
  return network
}
