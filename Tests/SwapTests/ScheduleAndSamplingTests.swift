import SeededRandom
import Tensors
import Testing
import ViT

@testable import Swap

@Suite struct ScheduleAndSamplingTests {
  @Test func cosineMatchesThePapersPerEpochRates() {
    let schedule = CosineSchedule(peak: 1e-2, floor: 1e-5, epochs: 5)
    let expected: [Float] = [1.0e-2, 9.05e-3, 6.55e-3, 3.46e-3, 9.6e-4]
    for (epoch, rate) in expected.enumerated() {
      #expect(abs(schedule.rate(epoch: epoch) - rate) / rate < 5e-3)
    }
    #expect(abs(schedule.rate(epoch: 5) - 1e-5) < 1e-9)
  }

  @Test func batchOrderVisitsEveryItemOncePerPass() {
    var order = BatchOrder(count: 10, batchSize: 4, generator: SeededGenerator(seed: 1))
    #expect(order.batchesPerPass == 3)
    let batches = (0..<3).map { _ in order.next() }
    #expect(batches.map(\.count) == [4, 4, 2])
    #expect(batches.flatMap { $0 }.sorted() == Array(0..<10))
    // The next pass is a fresh shuffle.
    let again = (0..<3).flatMap { _ in order.next() }
    #expect(again.sorted() == Array(0..<10))
    #expect(again != batches.flatMap { $0 })
  }

  @Test func batchOrderIsReproducible() {
    var a = BatchOrder(count: 50, batchSize: 8, generator: SeededGenerator(seed: 42))
    var b = BatchOrder(count: 50, batchSize: 8, generator: SeededGenerator(seed: 42))
    for _ in 0..<20 { #expect(a.next() == b.next()) }
  }

  @Test func stratifiedSubsetTakesTheFractionOfEachClass() {
    let labels = Array(repeating: 0, count: 100) + Array(repeating: 1, count: 30) + [2]
    var generator = SeededGenerator(seed: 5)
    let subset = stratifiedSubset(labels: labels, fraction: 0.1, generator: &generator)
    #expect(subset.filter { labels[$0] == 0 }.count == 10)
    #expect(subset.filter { labels[$0] == 1 }.count == 3)
    #expect(subset.filter { labels[$0] == 2 }.count == 1)
    #expect(subset == subset.sorted())
    var same = SeededGenerator(seed: 5)
    #expect(stratifiedSubset(labels: labels, fraction: 0.1, generator: &same) == subset)
  }

  @Test func adamWFirstStepMovesByTheRate() {
    // Step 1: m-hat = g, v-hat = g^2, so the Adam step is rate * sign(g); decay multiplies by 1 - rate * wd.
    let p = Parameter(name: "w", value: Tensor(shape: [1, 2], values: [1, -2]))
    p.isTrainable = true
    p.gradient!.pointer[0] = 0.5
    p.gradient!.pointer[1] = -3
    var adam = AdamW(parameters: [p], weightDecay: 0.1)
    adam.update([p], rate: 0.01)
    #expect(abs(p.value.pointer[0] - (1 * 0.999 - 0.01)) < 1e-6)
    #expect(abs(p.value.pointer[1] - (-2 * 0.999 + 0.01)) < 1e-6)
    // Step 2, same gradient: m-hat = g and v-hat = g^2 again after bias correction.
    adam.update([p], rate: 0.01)
    #expect(adam.state.step == 2)
    #expect(abs(p.value.pointer[0] - ((1 * 0.999 - 0.01) * 0.999 - 0.01)) < 1e-6)
    // A 1-D parameter (bias) is not decayed.
    let bias = Parameter(name: "b", value: Tensor(shape: [1], values: [1]))
    bias.isTrainable = true
    bias.gradient!.pointer[0] = 1
    var adam2 = AdamW(parameters: [bias], weightDecay: 0.1)
    adam2.update([bias], rate: 0.01)
    #expect(abs(bias.value.pointer[0] - 0.99) < 1e-6)
  }
}
