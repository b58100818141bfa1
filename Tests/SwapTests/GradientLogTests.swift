import TensorFile
import Tensors
import Testing
import ViT

@testable import Swap

@Suite struct GradientLogTests {
  func parameter(_ name: String, gradient: [Float]) -> Parameter {
    let p = Parameter(name: name, value: Tensor(shape: [gradient.count]))
    p.isTrainable = true
    gradient.withUnsafeBufferPointer { p.gradient!.pointer.update(from: $0.baseAddress!, count: gradient.count) }
    return p
  }

  @Test func linesHoldRunningAveragesOfMeanAndMeanAbsolute() throws {
    var log = GradientLog(names: ["a", "b"])
    log.record([parameter("a", gradient: [1, -3]), parameter("b", gradient: [2])])
    log.record([parameter("a", gradient: [3, 3]), parameter("b", gradient: [-4])])
    // a: step means -1 and 3 -> 1; absolute means 2 and 3 -> 2.5. b: 2 and -4 -> -1; 2 and 4 -> 3.
    let line = try JSON(parsing: log.line(epoch: 1), file: "log")
    #expect(line["step"]?.intValue == 2)
    #expect(line["epoch"]?.intValue == 1)
    #expect(line["mean"]?.arrayValue?.map(\.doubleValue) == [1, -1])
    #expect(line["mean_abs"]?.arrayValue?.map(\.doubleValue) == [2.5, 3])
  }

  @Test func headerNamesTheParametersInLineOrder() throws {
    let text = GradientLog.header(stage: .forget, names: ["x", "y"], stepsPerEpoch: 3, epochs: 5)
    let header = try JSON(parsing: text, file: "log")
    #expect(header["format"]?.stringValue == "kswap.grad-log")
    #expect(header["stage"]?.stringValue == "forget")
    #expect(header["parameters"]?.arrayValue?.map(\.stringValue) == ["x", "y"])
    #expect(header["steps_per_epoch"]?.intValue == 3)
  }
}
