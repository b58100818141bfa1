import Tensors

/// Scratch buffers shared by all blocks of one model: values no backward pass reads again, and
/// the backward pass's temporaries. One set per model, grown to the largest batch seen.
final class Workspace {
  let ln = Buffer(), attnOut = Buffer(), attnProj = Buffer(), qkv = Buffer(), probs = Buffer()
  let hidden = Buffer(), mlpOut = Buffer()
  let dBranch = Buffer(), dLn = Buffer(), dAttnOut = Buffer(), dQKV = Buffer(), dHidden = Buffer()
  let dProbs = Buffer()
}

/// A pre-norm transformer block, as timm's `Block`:
/// x ← x + ls1 ⊙ attn(norm1(x)); x ← x + ls2 ⊙ mlp(norm2(x)), where mlp = fc2(GELU(fc1(·))), with
/// dropout (training forwards that ask for it) after GELU and after fc2, as timm's `Mlp`.
///
/// LayerScale (ls1, ls2) is present in DINOv2-style models and absent (identity) in plain ViTs.
/// In training mode the block keeps what its backward pass reads (inputs of trainable linears,
/// attention probabilities, the pre-GELU activations); everything else lives in the shared
/// workspace.
public final class Block {
  /// The block index.
  public let index: Int
  /// `blocks.N.norm1`, before attention.
  public let norm1: LayerNorm
  /// `blocks.N.attn`.
  public let attention: Attention
  /// `blocks.N.norm2`, before the MLP.
  public let norm2: LayerNorm
  /// `blocks.N.mlp.fc1`, D → MLP width.
  public let fc1: Linear
  /// `blocks.N.mlp.fc2`, MLP width → D.
  public let fc2: Linear
  /// LayerScale gammas (D), named `blocks.N.ls1.gamma` / `ls2.gamma`; nil in plain ViTs.
  public let layerScale1: Parameter?
  public let layerScale2: Parameter?

  // Kept between forward and backward (training mode).
  private let ln1Saved = Buffer(), qkvSaved = Buffer(), probsSaved = Buffer(), attnOutSaved = Buffer()
  private let attnProjSaved = Buffer(), mid = Buffer(), ln2Saved = Buffer(), preGELU = Buffer()
  private let mlpOutSaved = Buffer(), geluSaved = Buffer()
  // Where the last forward put each value (saved or workspace).
  private var ln1: UnsafeMutablePointer<Float>!, qkvOut: UnsafeMutablePointer<Float>!
  private var probs: UnsafeMutablePointer<Float>!, attnOut: UnsafeMutablePointer<Float>!
  private var attnProj: UnsafeMutablePointer<Float>!, ln2: UnsafeMutablePointer<Float>!
  private var mlpOut: UnsafeMutablePointer<Float>!, geluOut: UnsafeMutablePointer<Float>!
  private var dropout: Dropout?  // the last forward's, for backward

  init(
    index: Int, norm1: LayerNorm, attention: Attention, norm2: LayerNorm, fc1: Linear, fc2: Linear,
    layerScale1: Parameter?, layerScale2: Parameter?
  ) {
    self.index = index
    self.norm1 = norm1
    self.attention = attention
    self.norm2 = norm2
    self.fc1 = fc1
    self.fc2 = fc2
    self.layerScale1 = layerScale1
    self.layerScale2 = layerScale2
  }

  /// The block's parameters in timm's state-dict order.
  public var parameters: [Parameter] {
    norm1.parameters + attention.parameters + (layerScale1.map { [$0] } ?? []) + norm2.parameters
      + fc1.parameters + fc2.parameters + (layerScale2.map { [$0] } ?? [])
  }

  /// The block's Linear layers.
  public var linears: [Linear] { [attention.qkv, attention.proj, fc1, fc2] }

  var dim: Int { norm1.dim }

  /// out = block(x); x and out are (B·N, D) and must not overlap. `dropout` needs `training`.
  func forward(
    x: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, batch: Int, tokens: Int, training: Bool,
    dropout: Dropout? = nil, workspace ws: Workspace
  ) {
    precondition(training || dropout == nil, "dropout applies to training forwards only")
    self.dropout = dropout
    let rows = batch * tokens, d = dim, hiddenWidth = fc1.outFeatures
    func place(_ saved: Buffer, _ shared: Buffer, _ keep: Bool, _ count: Int) -> UnsafeMutablePointer<Float> {
      if training && keep { return saved.reserve(count) }
      if !training { saved.release() }
      return shared.reserve(count)
    }
    ln1 = place(ln1Saved, ws.ln, attention.qkv.needsInputForBackward, rows * d)
    qkvOut = place(qkvSaved, ws.qkv, true, rows * 3 * d)
    probs = place(probsSaved, ws.probs, true, batch * attention.heads * tokens * tokens)
    attnOut = place(attnOutSaved, ws.attnOut, attention.proj.needsInputForBackward, rows * d)
    attnProj = place(attnProjSaved, ws.attnProj, layerScale1?.isTrainable ?? false, rows * d)
    let midPointer = place(mid, ws.dBranch, true, rows * d)
    ln2 = place(ln2Saved, ws.ln, fc1.needsInputForBackward, rows * d)
    let pre = place(preGELU, ws.hidden, true, rows * hiddenWidth)
    mlpOut = place(mlpOutSaved, ws.mlpOut, layerScale2?.isTrainable ?? false, rows * d)

    norm1.forward(x: x, y: ln1, rows: rows)
    attention.qkv.forward(x: ln1, y: qkvOut, rows: rows, training: training)
    attention.core(qkvOut: qkvOut, probs: probs, out: attnOut, batch: batch, tokens: tokens)
    attention.proj.forward(x: attnOut, y: attnProj, rows: rows, training: training)
    Block.residual(x, attnProj, layerScale1?.value.pointer, midPointer, rows: rows, dim: d)
    norm2.forward(x: midPointer, y: ln2, rows: rows)
    // In inference `pre` is the workspace's hidden buffer, so the GELU output goes to another one.
    let gelu = place(geluSaved, ws.dHidden, fc2.needsInputForBackward, rows * hiddenWidth)
    geluOut = gelu
    fc1.forward(x: ln2, y: pre, rows: rows, addBias: false, training: training)
    GELUKernel.biasForward(
      x: pre, bias: fc1.bias?.value.pointer, preActivation: pre, y: gelu, rows: rows, dim: hiddenWidth)
    dropout?.apply(.mlpHidden(block: index), gelu, into: gelu, count: rows * hiddenWidth)
    fc2.forward(x: gelu, y: mlpOut, rows: rows, training: training)
    dropout?.apply(.mlpOutput(block: index), mlpOut, into: mlpOut, count: rows * d)
    Block.residual(midPointer, mlpOut, layerScale2?.value.pointer, out, rows: rows, dim: d)
  }

  /// out = x + gamma ⊙ branch (gamma nil: plain residual).
  static func residual(
    _ x: UnsafePointer<Float>, _ branch: UnsafePointer<Float>, _ gamma: UnsafePointer<Float>?,
    _ out: UnsafeMutablePointer<Float>, rows: Int, dim: Int
  ) {
    Parallel.forRows(rows, cost: dim) { range in
      for r in range {
        let o = r * dim
        if let gamma {
          for i in 0..<dim { out[o + i] = x[o + i] + gamma[i] * branch[o + i] }
        } else {
          for i in 0..<dim { out[o + i] = x[o + i] + branch[o + i] }
        }
      }
    }
  }

  /// Writes dx from dOut; adds the trainable parameters' gradients. x is the forward input.
  ///
  /// dx starts as dOut (both residuals pass it through) and collects the two branches' input
  /// gradients; it must not overlap dOut.
  ///
  /// With `needInputGradient` false (nothing below this block trains) and a frozen attention
  /// branch, the attention branch's backward is skipped: it would only produce dx.
  func backward(
    dOut: UnsafePointer<Float>, x: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, batch: Int,
    tokens: Int, needInputGradient: Bool = true, workspace ws: Workspace
  ) {
    let rows = batch * tokens, d = dim, hiddenWidth = fc1.outFeatures
    let midPointer = mid.pointer, pre = preGELU.pointer
    dx.update(from: dOut, count: rows * d)

    // MLP branch: out = mid + ls2 ⊙ drop(m), m = fc2(drop(GELU(h))); each dropout's backward is its mask.
    var dm = scaleBranchGradient(dOut, layerScale2, mlpOut, ws.dBranch, rows: rows)
    if let dropout {
      let masked = ws.dBranch.reserve(rows * d)  // dm is dOut or already this buffer
      dropout.apply(.mlpOutput(block: index), dm, into: masked, count: rows * d)
      dm = UnsafePointer(masked)
    }
    let dHidden = ws.dHidden.reserve(rows * hiddenWidth)
    // geluOut is this block's saved copy when fc2 needs its input (else stale, and unread).
    fc2.backward(dy: dm, x: geluOut, dx: dHidden, rows: rows)
    dropout?.apply(.mlpHidden(block: index), dHidden, into: dHidden, count: rows * hiddenWidth)
    GELUKernel.backward(dy: dHidden, z: pre, dz: dHidden, count: rows * hiddenWidth)
    let dLn = ws.dLn.reserve(rows * d)
    fc1.backward(dy: dHidden, x: ln2, dx: dLn, rows: rows)
    norm2.backward(dy: dLn, x: midPointer, dx: dx, rows: rows)
    let attentionTrains = (norm1.parameters + attention.parameters + (layerScale1.map { [$0] } ?? []))
      .contains(where: \.isTrainable)
    if !needInputGradient && !attentionTrains { return }

    // Attention branch: mid = x + ls1 ⊙ a; dx now holds d(mid).
    let da = scaleBranchGradient(dx, layerScale1, attnProj, ws.dBranch, rows: rows)
    let dAttnOut = ws.dAttnOut.reserve(rows * d)
    attention.proj.backward(dy: da, x: attnOut, dx: dAttnOut, rows: rows)
    let dQKV = ws.dQKV.reserve(rows * 3 * d)
    attention.coreBackward(
      dOut: dAttnOut, qkvOut: qkvOut, probs: probs, dQKV: dQKV, scratch: ws.dProbs,
      batch: batch, tokens: tokens)
    attention.qkv.backward(dy: dQKV, x: ln1, dx: dLn, rows: rows)
    norm1.backward(dy: dLn, x: x, dx: dx, rows: rows)
  }

  /// For out = base + gamma ⊙ branch: adds Σ dOut ⊙ branch to gamma's gradient and returns
  /// d(branch) = gamma ⊙ dOut (in `scratch`), or dOut itself when there is no gamma.
  private func scaleBranchGradient(
    _ dOut: UnsafePointer<Float>, _ gamma: Parameter?, _ branch: UnsafePointer<Float>, _ scratch: Buffer,
    rows: Int
  ) -> UnsafePointer<Float> {
    guard let gamma else { return dOut }
    let d = dim
    if let g = gamma.gradient {
      for r in 0..<rows {
        for i in 0..<d { g.pointer[i] += dOut[r * d + i] * branch[r * d + i] }
      }
    }
    let out = scratch.reserve(rows * d)
    let gp = gamma.value.pointer
    Parallel.forRows(rows, cost: d) { range in
      for r in range {
        for i in 0..<d { out[r * d + i] = gp[i] * dOut[r * d + i] }
      }
    }
    return UnsafePointer(out)
  }
}
