import Tensors

/// AdamW with decoupled weight decay, step for step as `torch.optim.AdamW` (amsgrad off).
///
/// For each parameter p with gradient g at step t:
/// p ← p·(1 − lr·λ); m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²;
/// p ← p − (lr / (1−β₁ᵗ)) · m / (√v / √(1−β₂ᵗ) + ε).
///
/// ### See Also
/// - Loshchilov and Hutter, "Decoupled Weight Decay Regularization", arXiv 1711.05101.
public final class AdamW {
    /// The parameters updated, in order.
    public let parameters: [Parameter]
    /// The learning rate for the next step (schedules set it before each step).
    public var learningRate: Float
    /// β₁, β₂.
    public let betas: (Float, Float)
    /// ε in the denominator.
    public let eps: Float
    /// λ, the decoupled weight decay.
    public var weightDecay: Float
    /// Steps taken so far.
    public private(set) var stepCount: Int = 0

    private let firstMoments: [Tensor], secondMoments: [Tensor]

    /// An optimiser for `parameters`; defaults are torch's (lr 1e-3, betas 0.9/0.999, eps 1e-8, λ 0.01).
    public init(
        parameters: [Parameter], learningRate: Float = 1e-3, betas: (Float, Float) = (0.9, 0.999),
        eps: Float = 1e-8, weightDecay: Float = 0.01
    ) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.betas = betas
        self.eps = eps
        self.weightDecay = weightDecay
        firstMoments = parameters.map { Tensor(shape: $0.value.shape) }
        secondMoments = parameters.map { Tensor(shape: $0.value.shape) }
    }

    /// Applies one update from the current gradients (parameters without a gradient are skipped).
    public func step() {
        stepCount += 1
        let (b1, b2) = betas
        let bc1 = 1 - Float(Foundation_pow(Double(b1), Double(stepCount)))
        let bc2 = 1 - Float(Foundation_pow(Double(b2), Double(stepCount)))
        let stepSize = learningRate / bc1, bc2Root = bc2.squareRoot()
        let decay = 1 - learningRate * weightDecay, eps = eps
        for (i, p) in parameters.enumerated() {
            guard let g = p.gradient?.pointer else { continue }
            let x = p.value.pointer, m = firstMoments[i].pointer, v = secondMoments[i].pointer
            Parallel.forRows(p.value.count / 4096 + 1, cost: 4096 * 4) { range in
                let lo = range.lowerBound * 4096, hi = min(p.value.count, range.upperBound * 4096)
                guard lo < hi else { return }
                for j in lo..<hi {
                    x[j] *= decay
                    m[j] = b1 * m[j] + (1 - b1) * g[j]
                    v[j] = b2 * v[j] + (1 - b2) * g[j] * g[j]
                    x[j] -= stepSize * m[j] / (v[j].squareRoot() / bc2Root + eps)
                }
            }
        }
    }
}

/// Gradient clipping by the global L2 norm, as `torch.nn.utils.clip_grad_norm_`.
public enum GradientClipping {
    /// Scales all gradients by maxNorm / (norm + 1e-6) when the global norm exceeds `maxNorm`;
    /// returns the norm before clipping.
    @discardableResult
    public static func clipGlobalNorm(_ parameters: [Parameter], maxNorm: Float) -> Float {
        let total = Float(parameters.compactMap(\.gradient).reduce(0) { $0 + $1.squaredNorm() }.squareRoot())
        let coefficient = maxNorm / (total + 1e-6)
        if coefficient < 1 {
            for g in parameters.compactMap(\.gradient) {
                for i in 0..<g.count { g.pointer[i] *= coefficient }
            }
        }
        return total
    }
}
