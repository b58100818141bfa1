// The names a dataset file uses (Formats/dataset.md), in one place for the tools that write datasets
// (kswap-pack) and the tools that read them (the swap tools).

/// A dataset is a tensor file with two tensors and a few `__metadata__` keys; every metadata value
/// is a string, as safetensors requires, and lists are JSON arrays inside the string.
public enum DatasetLayout {
  /// `images` (N, C, H, W), U8 (0...255) or a float type.
  public static let images = "images"
  /// `labels` (N), I64: indices into the class list (classification datasets).
  public static let labels = "labels"
  /// `masks` (N, H, W), U8: each pixel's index into the class list, `ignoreLabel` for none
  /// (segmentation datasets, in place of `labels`).
  public static let masks = "masks"
  /// The mask value of a pixel that counts in no loss and no metric.
  public static let ignoreLabel: UInt8 = 255
  /// `boxes` (M, 4), F32: every image's boxes, image after image, as pixel corners x0, y0, x1, y1
  /// (detection datasets, in place of `labels`).
  public static let boxes = "boxes"
  /// `box_labels` (M), I64: each box's class, an index into the class list.
  public static let boxLabels = "box_labels"
  /// `box_offsets` (N + 1), I64: image i's boxes are rows box_offsets[i] ..< box_offsets[i + 1].
  public static let boxOffsets = "box_offsets"

  /// What a dataset's labels describe: `Key.task`'s values.
  public enum Task: String, Sendable, CaseIterable {
    /// One class per image: `labels`.
    case classification
    /// One class per pixel: `masks`.
    case segmentation
    /// Boxes with classes, any number per image (Formats/dataset.md, "Detection datasets").
    case detection
  }

  /// The `__metadata__` keys.
  public enum Key {
    /// "1": marks the file as a kswap dataset, format version 1.
    public static let dataset = "dataset"
    /// JSON array, index = label: a class name, or null for a label this file does not name.
    public static let classes = "classes"
    /// JSON arrays of per-channel numbers on the [0, 1] pixel scale.
    public static let mean = "mean"
    public static let std = "std"
    public static let source = "source"
    public static let split = "split"
    /// A `Task` raw value; absent means classification.
    public static let task = "task"
    /// JSON object: how kswap-pack --scenes composed the file (Formats/dataset.md, "Scenes").
    public static let scenes = "scenes"
  }

  /// The value of `Key.dataset` this version writes.
  public static let version = "1"
}
