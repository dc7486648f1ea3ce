/** The 80 standard COCO categories (2017 ids, which skip some numbers) with their supercategories. */
// prettier-ignore
const STANDARD: [number, string, string][] = [
  [1, "person", "person"], [2, "bicycle", "vehicle"], [3, "car", "vehicle"], [4, "motorcycle", "vehicle"],
  [5, "airplane", "vehicle"], [6, "bus", "vehicle"], [7, "train", "vehicle"], [8, "truck", "vehicle"],
  [9, "boat", "vehicle"], [10, "traffic light", "outdoor"], [11, "fire hydrant", "outdoor"], [13, "stop sign", "outdoor"],
  [14, "parking meter", "outdoor"], [15, "bench", "outdoor"], [16, "bird", "animal"], [17, "cat", "animal"],
  [18, "dog", "animal"], [19, "horse", "animal"], [20, "sheep", "animal"], [21, "cow", "animal"],
  [22, "elephant", "animal"], [23, "bear", "animal"], [24, "zebra", "animal"], [25, "giraffe", "animal"],
  [27, "backpack", "accessory"], [28, "umbrella", "accessory"], [31, "handbag", "accessory"], [32, "tie", "accessory"],
  [33, "suitcase", "accessory"], [34, "frisbee", "sports"], [35, "skis", "sports"], [36, "snowboard", "sports"],
  [37, "sports ball", "sports"], [38, "kite", "sports"], [39, "baseball bat", "sports"], [40, "baseball glove", "sports"],
  [41, "skateboard", "sports"], [42, "surfboard", "sports"], [43, "tennis racket", "sports"], [44, "bottle", "kitchen"],
  [46, "wine glass", "kitchen"], [47, "cup", "kitchen"], [48, "fork", "kitchen"], [49, "knife", "kitchen"],
  [50, "spoon", "kitchen"], [51, "bowl", "kitchen"], [52, "banana", "food"], [53, "apple", "food"],
  [54, "sandwich", "food"], [55, "orange", "food"], [56, "broccoli", "food"], [57, "carrot", "food"],
  [58, "hot dog", "food"], [59, "pizza", "food"], [60, "donut", "food"], [61, "cake", "food"],
  [62, "chair", "furniture"], [63, "couch", "furniture"], [64, "potted plant", "furniture"], [65, "bed", "furniture"],
  [67, "dining table", "furniture"], [70, "toilet", "furniture"], [72, "tv", "electronic"], [73, "laptop", "electronic"],
  [74, "mouse", "electronic"], [75, "remote", "electronic"], [76, "keyboard", "electronic"], [77, "cell phone", "electronic"],
  [78, "microwave", "appliance"], [79, "oven", "appliance"], [80, "toaster", "appliance"], [81, "sink", "appliance"],
  [82, "refrigerator", "appliance"], [84, "book", "indoor"], [85, "clock", "indoor"], [86, "vase", "indoor"],
  [87, "scissors", "indoor"], [88, "teddy bear", "indoor"], [89, "hair drier", "indoor"], [90, "toothbrush", "indoor"],
];

export interface CocoCategory {
  id: number;
  name: string;
  supercategory: string;
}

const BY_NAME = new Map(STANDARD.map(([id, name, supercategory]) => [name, { id, name, supercategory }]));
export const MAX_STANDARD_COCO_ID = 90;

/**
 * Remo's category assignment (remo-reference §5.3): names lower-cased; a standard COCO name keeps its id and
 * supercategory, any other gets the next id above the highest standard one, with itself as supercategory.
 * Bounded by the number of distinct classes, never by the data.
 */
export class CocoCategories {
  private byName = new Map<string, CocoCategory>();
  private nextId = MAX_STANDARD_COCO_ID + 1;

  constructor(classNames: Iterable<string> = []) {
    for (const n of classNames) this.idOf(n);
  }

  idOf(className: string): number {
    const name = className.toLowerCase();
    let cat = this.byName.get(name);
    if (!cat) {
      cat = BY_NAME.get(name) ?? { id: this.nextId++, name, supercategory: name };
      this.byName.set(name, cat);
    }
    return cat.id;
  }

  list(): CocoCategory[] {
    return [...this.byName.values()].sort((a, b) => a.id - b.id);
  }
}
