// COCO-style AP worked out by hand on small cases, each rule of pycocotools' COCOeval on its own: the
// thresholds, the interpolation, greedy matching (a later true box wins a tie), the score order across
// images, the 100-detection cap, classes without true boxes, and the results file both ways. The CLI case
// eval/score-detections.sh compares random sets with pycocotools itself.

import Testing

@testable import Swap

@Suite struct DetectionEvaluationTests {
  func box(_ x0: Float, _ y0: Float, _ x1: Float, _ y1: Float, label: Int = 0, score: Float = 1) -> LabeledBox {
    LabeledBox(box: Box(x0: x0, y0: y0, x1: x1, y1: y1), label: label, score: score)
  }

  /// Whether an AP is `expected` to 1e-12: COCOeval's precision tp / (tp + fp + eps) is never exactly 1.
  func close(_ value: Double?, _ expected: Double) -> Bool { value.map { abs($0 - expected) < 1e-12 } ?? false }

  /// Precision 1/(1 + 1 + eps) (COCOeval adds np.spacing(1)) on the 51 recall points 0...0.5, else 0.
  let halfThenNothing = 100 * 51 * (1 / (2 + Double.ulpOfOne)) / 101
  /// Precision 1 on the 51 recall points 0...0.5, else 0.
  let fullThenNothing = 100 * 51.0 / 101

  @Test func thresholdsAreNumpysLinspace() {
    #expect(
      DetectionScores.iouThresholds == [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.8999999999999999, 0.95])
    #expect(DetectionScores.recallThresholds.count == 101 && DetectionScores.recallThresholds[100] == 1)
    #expect(DetectionScores.recallThresholds[3] == 0.03 && DetectionScores.recallThresholds[50] == 0.5)
  }

  @Test func aPerfectDetectionScoresOneHundred() {
    let scores = cocoScores(truth: [[box(1, 1, 5, 7)]], detections: [[box(1, 1, 5, 7, score: 0.3)]])
    #expect(close(scores.ap, 100) && close(scores.ap50, 100) && close(scores.ap75, 100))
    #expect(scores.classes.map(\.label) == [0] && scores.boxes == 1 && scores.detections == 1)
  }

  @Test func anIoUOfOneHalfMatchesAtTheFirstThresholdOnly() {
    // Half of the true box: IoU 50 / 100 = 0.5, which is not below 0.5.
    let scores = cocoScores(truth: [[box(0, 0, 10, 10)]], detections: [[box(0, 0, 10, 5)]])
    #expect(close(scores.ap50, 100) && scores.ap75 == 0 && close(scores.ap, 10))
    #expect(cocoIoU(Box(x0: 0, y0: 0, x1: 10, y1: 5), Box(x0: 0, y0: 0, x1: 10, y1: 10)) == 0.5)
    #expect(cocoIoU(Box(x0: 0, y0: 0, x1: 1, y1: 1), Box(x0: 1, y0: 0, x1: 2, y1: 1)) == 0)  // touching
  }

  @Test func precisionIsInterpolatedFromTheRight() {
    // Two true boxes; the best detection is false, the second true: precision 0 then 1/2 at recall 1/2,
    // so 1/2 from recall 0 to 1/2 (51 of the 101 points) and 0 beyond.
    let scores = cocoScores(
      truth: [[box(0, 0, 4, 4), box(10, 10, 14, 14)]],
      detections: [[box(20, 20, 24, 24, score: 0.9), box(0, 0, 4, 4, score: 0.8)]])
    #expect(close(scores.ap50, halfThenNothing))
    #expect(close(scores.ap, halfThenNothing))  // the one match is exact: every threshold alike
  }

  @Test func equalScoresRankInImageOrder() {
    // One true box in each image; a false detection in one, a true one in the other, scores equal.
    let truth = [[box(0, 0, 4, 4)], [box(0, 0, 4, 4)]]
    let miss = [box(10, 10, 12, 12, score: 0.5)], hit = [box(0, 0, 4, 4, score: 0.5)]
    #expect(close(cocoScores(truth: truth, detections: [miss, hit]).ap50, halfThenNothing))
    #expect(close(cocoScores(truth: truth, detections: [hit, miss]).ap50, fullThenNothing))
    // Within an image, equal scores keep the given order.
    let oneImage = [[box(0, 0, 4, 4), box(20, 0, 24, 4)]]
    #expect(close(cocoScores(truth: oneImage, detections: [miss + hit]).ap50, halfThenNothing))
  }

  @Test func greedyMatchingGivesATieToTheLaterTrueBox() throws {
    // d0 overlaps both true boxes with IoU 75 / 125 = 0.6 and takes the later, g1; d1 is g1 itself, now
    // taken, and overlaps g0 by only 1/3: a false positive. (Were the tie the earlier box's, both match.)
    let truth = [[box(0, 0, 10, 10), box(5, 0, 15, 10)]]
    let detections = [[box(2.5, 0, 12.5, 10, score: 0.9), box(5, 0, 15, 10, score: 0.8)]]
    let scores = cocoScores(truth: truth, detections: detections)
    let precision = try #require(scores.classes.first?.precision)
    #expect(precision[0].prefix(51).allSatisfy { close($0, 1 / (1 + Double.ulpOfOne)) })
    #expect(precision[0].dropFirst(51).allSatisfy { $0 == 0 })
    // Above 0.6 d0 matches nothing, and d1 takes g1: false then true.
    #expect(precision[3].prefix(51).allSatisfy { close($0, 1 / (2 + Double.ulpOfOne)) })
    // A true box matches one detection: a duplicate is a false positive, which costs nothing when it
    // ranks below the match, and half the precision when it ranks above a second match.
    let duplicate = cocoScores(truth: [[box(0, 0, 4, 4)]], detections: [[box(0, 0, 4, 4), box(0, 0, 4, 4)]])
    #expect(close(duplicate.ap50, 100))
    let between = cocoScores(
      truth: [[box(0, 0, 4, 4), box(8, 8, 12, 12)]],
      detections: [[box(0, 0, 4, 4, score: 0.9), box(0, 0, 4, 4, score: 0.8), box(8, 8, 12, 12, score: 0.7)]])
    // Precision 1 up to recall 1/2, then 2/3 up to 1: (51 + 50 * 2/3) / 101.
    #expect(abs((between.ap50 ?? 0) - 100 * (51 / (1 + Double.ulpOfOne) + 50 * 2 / (3 + Double.ulpOfOne)) / 101) < 1e-9)
  }

  @Test func onlyTheHundredBestDetectionsOfAnImageAndClassCount() {
    let misses = (0..<100).map { box(50, 50, 51, 51, score: 0.5 + Float($0) / 1000) }
    let late = box(0, 0, 4, 4, score: 0.1)
    #expect(cocoScores(truth: [[box(0, 0, 4, 4)]], detections: [misses + [late]]).ap50 == 0)
    #expect(cocoScores(truth: [[box(0, 0, 4, 4)]], detections: [misses + [late]]).classes[0].detections == 100)
    // Another class's detections do not use up the hundred.
    let other = misses.map { LabeledBox(box: $0.box, label: 1, score: $0.score) }
    #expect(close(cocoScores(truth: [[box(0, 0, 4, 4)]], detections: [other + [late]]).ap50, 100))
    // Nor do another image's: each image has its own hundred.
    let twoImages = cocoScores(truth: [[box(0, 0, 4, 4)], []], detections: [[late], misses])
    #expect(close(twoImages.ap50, 100 / 101))  // one in 101 right, recall 1 only at the last
  }

  @Test func classesWithoutTrueBoxesAreLeftOut() {
    // Class 1 has detections and no true box: no AP of its own, and no effect on the mean.
    let scores = cocoScores(
      truth: [[box(0, 0, 4, 4, label: 0)], [box(0, 0, 4, 4, label: 2)]],
      detections: [[box(0, 0, 4, 4, label: 0), box(0, 0, 4, 4, label: 1)], []])
    #expect(scores.classes.map(\.label) == [0, 2])
    #expect(close(scores.classes[0].ap, 100) && scores.classes[1].ap == 0 && close(scores.ap, 50))
    // A set without a true box has no AP (COCOeval: -1).
    let empty = cocoScores(truth: [[], []], detections: [[box(0, 0, 1, 1)], []])
    #expect(empty.ap == nil && empty.ap50 == nil && empty.ap75 == nil && empty.classes.isEmpty)
  }

  @Test func resultsFilesAreWrittenAndReadExactly() throws {
    let detections = [[box(1.5, 2, 7.25, 9, label: 3, score: 0.1)], [], [box(0, 0, 1, 1, label: 0, score: 1)]]
    let text = COCOResults.json(detections)
    #expect(
      text == """
        [
        {"image_id":1,"category_id":3,"bbox":[1.5,2,5.75,7],"score":0.10000000149011612},
        {"image_id":3,"category_id":0,"bbox":[0,0,1,1],"score":1}
        ]

        """)
    #expect(try COCOResults.read(text, file: "r.json", images: 3, classes: 4, set: "t") == detections)
    #expect(COCOResults.json([[], []]) == "[]\n")
    func refusal(_ text: String, images: Int = 3) -> String {
      do {
        _ = try COCOResults.read(text, file: "r.json", images: images, classes: 4, set: "t.kst")
        return "(no error)"
      } catch {
        return "\(error)"
      }
    }
    let good = #""bbox":[0,0,1,1],"score":0.5"#
    #expect(refusal("{}") == "r.json: not COCO results: expected a JSON array of detections")
    #expect(refusal("[").hasPrefix("r.json: invalid JSON"))
    #expect(
      refusal(#"[{"image_id":4,"category_id":0,\#(good)}]"#)
        == "r.json: detection 0: image_id is not an image of t.kst (its 3 images are ids 1 to 3)")
    #expect(
      refusal(#"[{"image_id":1,"category_id":4,\#(good)}]"#)
        == "r.json: detection 0: category_id is not a class of t.kst (its 4 classes are ids 0 to 3)")
    for bbox in ["[0,0,1]", #"[0,0,1,"1",2]"#, "[0,0,1,null]"] {
      #expect(
        refusal(#"[{"image_id":1,"category_id":0,"bbox":\#(bbox),"score":0.5}]"#)
          == "r.json: detection 0: bbox is not an array of 4 finite numbers [x, y, width, height]")
    }
    #expect(
      refusal(#"[{"image_id":1,"category_id":0,"bbox":[0,0,1,1e39],"score":0.5}]"#)
        == "r.json: detection 0: its score and bbox must be finite numbers (as F32)")
    #expect(
      refusal(#"[{"image_id":1,"category_id":0,"bbox":[0,0,1,1]}]"#)
        == "r.json: detection 0: its score and bbox must be finite numbers (as F32)")
  }
}
