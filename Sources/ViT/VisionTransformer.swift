import SeededRandom
import Tensors
import WeightSurgery

// Shape legend for this file: B batch, C channels, H×W image, p patch, N = 1 + (H/p)(W/p) tokens
// (class token first), D width, K classes.

/// A timm-style vision transformer with hand-written backward passes and LoRA, on the CPU.
///
/// Parameter names and semantics are timm's `VisionTransformer` (pre-norm blocks, fused qkv,
/// class token, learned position embedding, final norm, linear head on the class token,
/// LayerNorm eps 1e-6, exact-erf GELU); DINOv2-style LayerScale is supported. Use it like this:
///
/// ```swift
/// let model = try Checkpoint.loadModel(reader)                 // or VisionTransformer(config:tensors:)
/// var rng = SeededGenerator(seed: 0)
/// model.addLoRA(LoRAConfig(rank: 8), generator: &rng)           // fc1/fc2 of every block, B = 0
/// model.setTrainable(.lora)                                      // or .loraAnd(["head"]), .all
/// for (images, dLoss) in batches {                               // images: Tensor (B, C, H, W)
///     model.zeroGradients()
///     let logits = model.forward(images, training: true)        // (B, K), owned by the model
///     model.backward(dLoss(logits))                              // fills Parameter.gradient
///     // update model.trainableParameters (Swap's AdamW does this for the tools)
/// }
/// let adapter = model.loraTensors()                              // PEFT names → tensors
/// ```
///
/// - Tasks: the config's `task` says what `forward` gives and `backward` takes. A classifier's logits
///   are (B, K), the head on the class token. A segmentation model's are pixel logits (B, K, H, W): the
///   head on every patch token, resized bilinearly to the image (`SegmentationDecoder`, the "linear"
///   decoder of Segmenter); `argmaxPixels` turns them into predicted masks. A detection model's are
///   dense outputs (B, H/p, W/p, K + 5): per patch, the head's class logits, then the box branch's
///   distances and centerness logit (`DetectionHead`, FCOS-style; `DetectionOutputs` gives the layout).
/// - Tokens: `forwardTokens(_:training:)` gives the final-normed tokens (B, N, D) and
///   `backwardTokens(_:)` takes their gradient, for heads other than the model's own;
///   `forward` and `backward` are those plus the head.
/// - Dropout: `forward(_:training:dropout:)` with a `Dropout` drops as the official ViT trains (p on the
///   embedded tokens, after GELU and after fc2 in every block); backward applies the same masks.
/// - Trainable sets: `setTrainable(_:)` allocates gradients only for the chosen parameters;
///   backward skips every weight gradient (and every input gradient below the lowest trainable
///   layer) that is not needed.
/// - Buffers: activations live in buffers reused from step to step. The tensors returned by
///   `forward`/`forwardTokens` belong to the model and are overwritten by the next call.
/// - Threads: matrix products use OpenBLAS's threads, elementwise loops the same count. Call
///   `BLASRuntime.selectFastKernels()` at the top of a tool's `main`.
/// - Not thread-safe: one forward/backward at a time per model.
public final class VisionTransformer {
  /// The architecture.
  public let config: ViTConfig
  /// Patch embedding, class token, position embedding.
  public let embedding: Embedding
  /// The transformer blocks.
  public let blocks: [Block]
  /// The final LayerNorm (`norm`).
  public let norm: LayerNorm
  /// The linear head (`head`, (K, D)): on the class token, or on every patch token for segmentation and
  /// detection; nil for a backbone. Replaceable.
  public var head: Linear?
  /// A detection model's box branch (`box_head`, (5, D)): box distances and centerness on every patch
  /// token; nil for the other tasks. Replaceable.
  public var boxHead: Linear?

  private let workspace = Workspace()
  private var residuals: [Buffer]  // x_0 ... x_depth, each (B·N, D); two in inference
  private var finalTokens = Tensor(shape: [0])
  private let classFeatures = Buffer()  // (B, D)
  private var logits = Tensor(shape: [0])
  private var dTokensScratch = Tensor(shape: [0])
  private let dResidualA = Buffer(), dResidualB = Buffer()
  private var lastImages: Tensor?
  private var last = (batch: 0, tokens: 0, training: false)
  private var lastDropout: Dropout?
  /// The head on the patch tokens and the resize to pixels, for a segmentation model.
  let segmentation = SegmentationDecoder()
  /// The head and the box branch on the patch tokens, for a detection model.
  let detection = DetectionHead()

  /// A model from timm-named tensors; throws when one is missing, misshapen or unexpected.
  public init(config: ViTConfig, tensors: [String: Tensor]) throws {
    if let problem = config.validationProblem() { throw ViTError.invalidConfig(problem) }
    var used = Set<String>()
    func take(_ name: String, _ shape: [Int]) throws -> Tensor {
      guard let t = tensors[name] else { throw ViTError.missingTensor(name) }
      guard t.count == shape.reduce(1, *), t.shape == shape || ViTError.sameIgnoringOnes(t.shape, shape) else {
        throw ViTError.shapeMismatch(name: name, expected: shape, actual: t.shape)
      }
      used.insert(name)
      let c = t.copy()
      c.reshape(shape)
      return c
    }
    let d = config.dim, p = config.patchSize, g = config.gridSize, m = config.mlpDim
    self.config = config
    embedding = Embedding(
      patchWeight: try take("patch_embed.proj.weight", [d, config.channels, p, p]),
      patchBias: try take("patch_embed.proj.bias", [d]), classToken: try take("cls_token", [1, 1, d]),
      positions: try take("pos_embed", [1, 1 + g * g, d]))
    func linear(_ name: String, _ out: Int, _ inp: Int) throws -> Linear {
      Linear(name: name, weight: try take(name + ".weight", [out, inp]), bias: try take(name + ".bias", [out]))
    }
    func layerNorm(_ name: String) throws -> LayerNorm {
      LayerNorm(
        name: name, weight: try take(name + ".weight", [d]), bias: try take(name + ".bias", [d]),
        eps: config.layerNormEps)
    }
    blocks = try (0..<config.depth).map { i in
      let pre = "blocks.\(i)."
      return Block(
        index: i, norm1: try layerNorm(pre + "norm1"),
        attention: Attention(
          qkv: try linear(pre + "attn.qkv", 3 * d, d), proj: try linear(pre + "attn.proj", d, d), heads: config.heads),
        norm2: try layerNorm(pre + "norm2"), fc1: try linear(pre + "mlp.fc1", m, d),
        fc2: try linear(pre + "mlp.fc2", d, m),
        layerScale1: config.layerScale
          ? Parameter(name: pre + "ls1.gamma", value: try take(pre + "ls1.gamma", [d])) : nil,
        layerScale2: config.layerScale
          ? Parameter(name: pre + "ls2.gamma", value: try take(pre + "ls2.gamma", [d])) : nil)
    }
    norm = try layerNorm("norm")
    head = config.classes > 0 ? try linear("head", config.classes, d) : nil
    boxHead = config.task == .detection ? try linear("box_head", DetectionOutputs.boxChannels, d) : nil
    if let extra = Set(tensors.keys).subtracting(used).sorted().first { throw ViTError.unexpectedTensor(extra) }
    residuals = []
  }

  /// A randomly initialised model, as timm initialises one for training from scratch.
  ///
  /// Linear weights and the position embedding: truncated normal, std 0.02 (cut at ±2σ);
  /// biases 0; class token normal std 1e-6; patch convolution U(±1/√(C·p·p)) (torch's Conv2d
  /// default); LayerNorm 1 and 0; LayerScale 1e-5 (DINOv2's init). A detection model's head bias is
  /// `DetectionOutputs.priorBias` (FCOS's and DINO's prior probability 0.01).
  public convenience init(config: ViTConfig, generator: inout SeededGenerator) {
    var t: [String: Tensor] = [:]
    func truncNormal(_ shape: [Int]) -> Tensor {
      let x = Tensor(shape: shape)
      for i in 0..<x.count {
        var v = generator.normal()
        while abs(v) > 2 { v = generator.normal() }
        x.pointer[i] = 0.02 * v
      }
      return x
    }
    let d = config.dim, p = config.patchSize, fan = config.channels * p * p
    let bound = 1 / Float(fan).squareRoot()
    t["patch_embed.proj.weight"] = Tensor.uniform(
      shape: [d, config.channels, p, p], low: -bound, high: bound, generator: &generator)
    t["patch_embed.proj.bias"] = Tensor.uniform(shape: [d], low: -bound, high: bound, generator: &generator)
    t["cls_token"] = Tensor.normal(shape: [1, 1, d], std: 1e-6, generator: &generator)
    t["pos_embed"] = truncNormal([1, config.tokens, d])
    func linear(_ name: String, _ out: Int, _ inp: Int) {
      t[name + ".weight"] = truncNormal([out, inp])
      t[name + ".bias"] = Tensor(shape: [out])
    }
    func layerNorm(_ name: String) {
      t[name + ".weight"] = Tensor(shape: [d], repeating: 1)
      t[name + ".bias"] = Tensor(shape: [d])
    }
    for i in 0..<config.depth {
      let pre = "blocks.\(i)."
      layerNorm(pre + "norm1")
      linear(pre + "attn.qkv", 3 * d, d)
      linear(pre + "attn.proj", d, d)
      layerNorm(pre + "norm2")
      linear(pre + "mlp.fc1", config.mlpDim, d)
      linear(pre + "mlp.fc2", d, config.mlpDim)
      if config.layerScale {
        t[pre + "ls1.gamma"] = Tensor(shape: [d], repeating: 1e-5)
        t[pre + "ls2.gamma"] = Tensor(shape: [d], repeating: 1e-5)
      }
    }
    layerNorm("norm")
    if config.classes > 0 { linear("head", config.classes, d) }
    if config.task == .detection {
      linear("box_head", DetectionOutputs.boxChannels, d)
      t["head.bias"]?.fill(DetectionOutputs.priorBias)
    }
    // Every name and shape above matches what init(config:tensors:) takes.
    try! self.init(config: config, tensors: t)
  }

  // MARK: - Parameters

  /// Every Linear layer by module name (`blocks.0.attn.qkv`, ..., `head`, `box_head`).
  public var linears: [Linear] { blocks.flatMap(\.linears) + [head, boxHead].compactMap { $0 } }

  /// All parameters (base and LoRA) in timm's state-dict order, LoRA after its layer's bias; a detection
  /// model's box branch last.
  public var parameters: [Parameter] {
    embedding.parameters + blocks.flatMap(\.parameters) + norm.parameters + (head?.parameters ?? [])
      + (boxHead?.parameters ?? [])
  }

  /// The parameters whose gradients backward computes, in `parameters` order.
  public var trainableParameters: [Parameter] { parameters.filter(\.isTrainable) }

  /// The parameter with this name (timm or LoRA name), if any.
  public func parameter(named name: String) -> Parameter? { parameters.first { $0.name == name } }

  /// The base weights by timm name (LoRA excluded), sharing storage with the model.
  public func baseTensors() -> [String: Tensor] {
    let lora = Set(linears.compactMap(\.lora).flatMap { [$0.a.name, $0.b.name] })
    return Dictionary(uniqueKeysWithValues: parameters.filter { !lora.contains($0.name) }.map { ($0.name, $0.value) })
  }

  /// Sets every parameter's gradient to zero.
  public func zeroGradients() { for p in parameters { p.zeroGradient() } }

  /// Chooses which parameters train; the others are frozen (no gradient, no work in backward).
  public func setTrainable(_ set: TrainableSet) {
    let lora = Set(linears.compactMap(\.lora).flatMap { [$0.a.name, $0.b.name] })
    for p in parameters {
      switch set {
      case .all: p.isTrainable = true
      case .lora: p.isTrainable = lora.contains(p.name)
      case .loraAnd(let modules):
        p.isTrainable = lora.contains(p.name) || modules.contains { p.name == $0 || p.name.hasPrefix($0 + ".") }
      }
    }
  }

  /// Appends `count` classifier rows for new classes, as the paper's code initialises them:
  /// Xavier-uniform over the new rows' slice, U(±√(6 / (D + count))), bias 0 (a detection model's:
  /// `DetectionOutputs.priorBias`, as DINO's new classes start); existing rows are kept.
  public func appendHeadRows(_ count: Int, generator: inout SeededGenerator) {
    guard let head, count > 0 else { return }
    let (rows, width) = (head.outFeatures, head.inFeatures)
    let weight = Tensor(shape: [rows + count, width]), bias = Tensor(shape: [rows + count])
    weight.pointer.update(from: head.weight.value.pointer, count: rows * width)
    if let old = head.bias { bias.pointer.update(from: old.value.pointer, count: rows) }
    if config.task == .detection {
      (bias.pointer + rows).update(repeating: DetectionOutputs.priorBias, count: count)
    }
    let bound = (6 / Float(width + count)).squareRoot()
    for i in (rows * width)..<((rows + count) * width) {
      weight.pointer[i] = (generator.uniform(0, 1) * 2 - 1) * bound
    }
    self.head = Linear(name: "head", weight: weight, bias: bias)
  }

  // MARK: - LoRA

  /// Attaches fresh adapters (A random, B zero) to every Linear that `config` targets; returns them.
  @discardableResult
  public func addLoRA(_ config: LoRAConfig, generator: inout SeededGenerator) -> [LoRAAdapter] {
    linears.filter { config.targets($0.name) }.map { layer in
      let adapter = LoRAAdapter(
        module: layer.name, inFeatures: layer.inFeatures, outFeatures: layer.outFeatures, config: config,
        generator: &generator)
      layer.lora = adapter
      return adapter
    }
  }

  /// Attaches adapters from tensors named `<module>.lora_A.weight` / `.lora_B.weight`, with or
  /// without PEFT's `base_model.model.` prefix; throws on a missing partner or a bad shape.
  public func loadLoRA(_ tensors: [String: Tensor], scaling: Float) throws {
    let prefix = AdapterNames.prefix
    var byName: [String: Tensor] = [:]
    for (k, v) in tensors { byName[k.hasPrefix(prefix) ? String(k.dropFirst(prefix.count)) : k] = v }
    let layers = Dictionary(uniqueKeysWithValues: linears.map { ($0.name, $0) })
    for (name, a) in byName where name.hasSuffix(".lora_A.weight") {
      let module = String(name.dropLast(".lora_A.weight".count))
      guard let layer = layers[module] else { throw ViTError.unknownModule(module) }
      guard let b = byName[module + ".lora_B.weight"] else { throw ViTError.missingTensor(module + ".lora_B.weight") }
      guard a.rank == 2, b.rank == 2, a.shape[1] == layer.inFeatures, b.shape[0] == layer.outFeatures,
        b.shape[1] == a.shape[0]
      else {
        throw ViTError.shapeMismatch(
          name: module + ".lora_A/B", expected: [layer.outFeatures, layer.inFeatures], actual: b.shape + a.shape)
      }
      layer.lora = LoRAAdapter(module: module, a: a.copy(), b: b.copy(), scaling: scaling)
    }
    for name in byName.keys where name.hasSuffix(".lora_B.weight") {
      let module = String(name.dropLast(".lora_B.weight".count))
      if byName[module + ".lora_A.weight"] == nil { throw ViTError.missingTensor(module + ".lora_A.weight") }
    }
  }

  /// The adapters' matrices in PEFT names (`base_model.model.<module>.lora_A.weight`, ...).
  public func loraTensors() -> [String: Tensor] {
    var out: [String: Tensor] = [:]
    for adapter in linears.compactMap(\.lora) {
      out[AdapterNames.prefix + adapter.a.name] = adapter.a.value
      out[AdapterNames.prefix + adapter.b.name] = adapter.b.value
    }
    return out
  }

  /// Folds every adapter into its base weight and removes it.
  public func mergeLoRA() { for l in linears { l.mergeLoRA() } }

  // MARK: - Forward and backward

  /// Checks that images of this shape can go through the model.
  public func validate(imageShape shape: [Int]) throws {
    guard shape.count == 4, shape[1] == config.channels, shape[2] > 0, shape[3] > 0,
      shape[2] % config.patchSize == 0, shape[3] % config.patchSize == 0
    else { throw ViTError.badImageShape(shape, channels: config.channels, patch: config.patchSize) }
  }

  /// The logits of images (B, C, H, W): (B, K) for a classifier, pixel logits (B, K, H, W) for a
  /// segmentation model, outputs (B, H/p, W/p, K + 5) for a detection model (`config.task`). With
  /// `training`, keeps what `backward` needs and applies `dropout` if given (evaluation never drops).
  public func forward(_ images: Tensor, training: Bool = false, dropout: Dropout? = nil) -> Tensor {
    guard let head else { preconditionFailure("forward needs a head; use forwardTokens on a backbone") }
    let tokens = forwardTokens(images, training: training, dropout: dropout)
    if config.task == .segmentation {
      let (h, w) = (images.shape[2], images.shape[3])
      return segmentation.forward(
        tokens: tokens, head: head, gridHeight: h / config.patchSize, gridWidth: w / config.patchSize, height: h,
        width: w, training: training)
    }
    if config.task == .detection {
      guard let boxHead else { preconditionFailure("a detection model has a box branch") }
      let (h, w) = (images.shape[2], images.shape[3])
      return detection.forward(
        tokens: tokens, head: head, boxHead: boxHead, gridHeight: h / config.patchSize,
        gridWidth: w / config.patchSize, training: training)
    }
    let (b, n, d) = (tokens.shape[0], tokens.shape[1], tokens.shape[2])
    let cls = classFeatures.reserve(b * d)
    for i in 0..<b { (cls + i * d).update(from: tokens.pointer + i * n * d, count: d) }
    if logits.shape != [b, head.outFeatures] { logits = Tensor(shape: [b, head.outFeatures]) }
    head.forward(x: cls, y: logits.pointer, rows: b, training: training)
    return logits
  }

  /// The final-normed tokens (B, N, D), class token first; `dropout` as in `forward`.
  public func forwardTokens(_ images: Tensor, training: Bool = false, dropout: Dropout? = nil) -> Tensor {
    precondition((try? validate(imageShape: images.shape)) != nil, "image shape \(images.shape) does not fit \(config)")
    precondition(training || dropout == nil, "dropout applies to training forwards only")
    // p = 0 drops nothing: skip the masks altogether (the same bits as no dropout).
    let dropout = dropout.flatMap { $0.probability > 0 ? $0 : nil }
    let b = images.shape[0], h = images.shape[2], w = images.shape[3]
    let n = 1 + (h / config.patchSize) * (w / config.patchSize), d = config.dim, rows = b * n
    let needed = training ? config.depth + 1 : 2
    if residuals.count != needed { residuals = (0..<needed).map { _ in Buffer() } }
    func stream(_ i: Int) -> UnsafeMutablePointer<Float> { residuals[training ? i : i % 2].reserve(rows * d) }
    embedding.forward(images: images.pointer, batch: b, height: h, width: w, tokens: stream(0))
    dropout?.apply(.embedding, stream(0), into: stream(0), count: rows * d)
    for (i, block) in blocks.enumerated() {
      block.forward(
        x: stream(i), out: stream(i + 1), batch: b, tokens: n, training: training, dropout: dropout,
        workspace: workspace)
    }
    if finalTokens.shape != [b, n, d] { finalTokens = Tensor(shape: [b, n, d]) }
    norm.forward(x: stream(blocks.count), y: finalTokens.pointer, rows: rows)
    last = (b, n, training)
    lastImages = training ? images : nil
    lastDropout = dropout
    return finalTokens
  }

  /// Back-propagates d(loss)/d(logits) from the last training forward: (B, K) for a classifier,
  /// (B, K, H, W) for a segmentation model, (B, H/p, W/p, K + 5) for a detection model.
  public func backward(_ dLogits: Tensor) {
    guard let head else { preconditionFailure("backward needs a head; use backwardTokens on a backbone") }
    let (b, n) = (last.batch, last.tokens), d = config.dim
    if dTokensScratch.shape != [b, n, d] { dTokensScratch = Tensor(shape: [b, n, d]) }
    if config.task == .segmentation {
      precondition(last.training, "backward needs a forward with training: true first")
      segmentation.backward(dLogits, head: head, tokens: finalTokens, dTokens: dTokensScratch)
      backwardTokens(dTokensScratch)
      return
    }
    if config.task == .detection {
      precondition(last.training, "backward needs a forward with training: true first")
      guard let boxHead else { preconditionFailure("a detection model has a box branch") }
      detection.backward(dLogits, head: head, boxHead: boxHead, tokens: finalTokens, dTokens: dTokensScratch)
      backwardTokens(dTokensScratch)
      return
    }
    precondition(
      dLogits.shape == [b, head.outFeatures], "dLogits \(dLogits.shape) for logits [\(b), \(head.outFeatures)]")
    dTokensScratch.zero()
    let dCls = workspace.dBranch.reserve(b * d)
    head.backward(dy: dLogits.pointer, x: classFeatures.pointer, dx: dCls, rows: b)
    for i in 0..<b { (dTokensScratch.pointer + i * n * d).update(from: dCls + i * d, count: d) }
    backwardTokens(dTokensScratch)
  }

  /// Back-propagates d(loss)/d(tokens) (B, N, D) from the last training forward.
  public func backwardTokens(_ dTokens: Tensor) {
    precondition(last.training, "backward needs a forward with training: true first")
    let (b, n) = (last.batch, last.tokens), d = config.dim, rows = b * n
    precondition(dTokens.shape == [b, n, d], "dTokens \(dTokens.shape) for tokens [\(b), \(n), \(d)]")
    var dOut = dResidualA.reserve(rows * d), dIn = dResidualB.reserve(rows * d)
    dOut.update(repeating: 0, count: rows * d)
    norm.backward(dy: dTokens.pointer, x: residuals[blocks.count].pointer, dx: dOut, rows: rows)
    let lowest = lowestTrainableBlock()
    for block in blocks.reversed() where block.index >= lowest {
      block.backward(
        dOut: dOut, x: residuals[block.index].pointer, dx: dIn, batch: b, tokens: n,
        needInputGradient: block.index > lowest || lowest == 0 && embeddingTrains, workspace: workspace)
      swap(&dOut, &dIn)
    }
    if lowest == 0, embeddingTrains, let images = lastImages {
      lastDropout?.apply(.embedding, dOut, into: dOut, count: rows * d)
      embedding.backward(dTokens: dOut, images: images.pointer)
    }
  }

  /// The lowest block whose backward has work: below it no gradient is needed.
  private var embeddingTrains: Bool { embedding.parameters.contains(where: \.isTrainable) }

  private func lowestTrainableBlock() -> Int {
    if embeddingTrains { return 0 }
    return blocks.first { $0.parameters.contains(where: \.isTrainable) }?.index ?? blocks.count
  }
}

/// Which parameters train.
public enum TrainableSet: Sendable, Equatable {
  /// Only the LoRA matrices (the paper's setting).
  case lora
  /// The LoRA matrices plus the named modules' parameters (e.g. `["head"]`, `["blocks.11"]`).
  case loraAnd([String])
  /// Every parameter (full fine-tuning or training from scratch).
  case all
}
