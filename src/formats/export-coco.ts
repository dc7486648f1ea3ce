import { CocoCategories } from "./coco-categories";
import { pointsExtent } from "../lib/object-bounds";
import { coord, pyFloat, pyJson, Raw } from "./export-text";
import {
  drawableObjects,
  exportedName,
  isAnnotated,
  type ExportImage,
  type ExportOptions,
  type ExportPages,
} from "./export-types";

/** Which pass the COCO writer asks for: `annotations` needs objects and classes, `images` only the image rows. */
export type CocoPass = "annotations" | "images";

const INFO = { contributor: "", date_created: "", description: "", url: "", version: "", year: "" };
// Remo's spelling (sic), kept so its readers find it.
const LICENCES = [{ id: "", name: "", url: "" }];

/**
 * Remo's COCO (remo-reference §5.3). Keys are sorted, so `annotations` comes before `categories` and `images`:
 * the data is read twice (annotations, then image rows) rather than held, and `categories` comes from the set's
 * class list (plus any class met in the data that the list lacked), never from a pass over the data.
 */
export async function* exportCoco(
  open: (pass: CocoPass) => ExportPages,
  classNames: string[],
  opts: ExportOptions,
): AsyncGenerator<string> {
  const categories = new CocoCategories(classNames);
  const percent = opts.coordinates === "percent";
  let first = true;
  let syntheticId = 0;
  yield '{\n  "annotations": [';
  for await (const page of open("annotations")) {
    let s = "";
    for (const img of page) {
      for (const a of imageAnnotations(img, categories, percent, opts, () => ++syntheticId)) {
        s += (first ? "\n    " : ",\n    ") + pyJson(a, 4);
        first = false;
      }
    }
    if (s) yield s;
  }
  yield (first ? "]" : "\n  ]") + ',\n  "categories": ' + pyJson(categories.list(), 2) + ',\n  "images": [';
  first = true;
  for await (const page of open("images")) {
    let s = "";
    for (const img of page) {
      const image = {
        date_captured: "",
        file_name: exportedName(img, opts.fullPath),
        height: img.height,
        id: img.id,
        license: 0,
        url: "",
        width: img.width,
      };
      s += (first ? "\n    " : ",\n    ") + pyJson(image, 4);
      first = false;
    }
    if (s) yield s;
  }
  yield (first ? "]" : "\n  ]") + ',\n  "info": ' + pyJson(INFO, 2) + ',\n  "licences": ' + pyJson(LICENCES, 2) + "\n}";
}

function imageAnnotations(
  img: ExportImage,
  categories: CocoCategories,
  percent: boolean,
  opts: ExportOptions,
  nextId: () => number,
): Record<string, unknown>[] {
  const empty = (categoryId: number, id: number) => ({
    area: 0,
    bbox: [],
    category_id: categoryId,
    id,
    image_id: img.id,
    iscrowd: 0,
    segmentation: [],
  });
  if (!isAnnotated(img)) return [empty(0, 0)];
  if (opts.task === "image_classification") {
    // Not in Remo's COCO (detection and segmentation only): image-level classes as box-less annotations.
    return img.classes.map((c) => empty(categories.idOf(c), nextId()));
  }
  // Width and height from pixel differences, so a percent box is not off by a float rounding (0.3 - 0.1).
  const span = (a: number, b: number, size: number) =>
    percent ? (b - a) / (size || 1) : Math.trunc(b) - Math.trunc(a);
  const n = (v: number) => (percent ? new Raw(pyFloat(v)) : v);
  const x = (v: number) => coord(v, img.width, percent);
  const y = (v: number) => coord(v, img.height, percent);
  return drawableObjects(img).map((o) => {
    const [xmin, ymin, xmax, ymax] = o.kind === "bbox" ? o.coordinates : pointsExtent(o.coordinates);
    const w = span(xmin, xmax, img.width);
    const h = span(ymin, ymax, img.height);
    let segmentation: unknown[];
    let area: number | Raw = 0;
    if (opts.task === "instance_segmentation" && o.kind === "polygon") {
      const c = o.coordinates;
      const poly: unknown[] = [];
      for (let i = 0; i + 1 < c.length; i += 2) poly.push(x(c[i]), y(c[i + 1]));
      segmentation = [poly];
    } else {
      segmentation = [[x(xmin), y(ymin), x(xmin), y(ymax), x(xmax), y(ymax), x(xmax), y(ymin)]];
      if (opts.task === "object_detection") area = n(w * h);
    }
    const [main, ...others] = o.classes;
    return {
      area,
      bbox: [x(xmin), y(ymin), n(w), n(h)],
      category_id: main === undefined ? 0 : categories.idOf(main),
      id: o.id,
      image_id: img.id,
      iscrowd: 0,
      other_categories: others.length ? others.map((c) => categories.idOf(c)) : undefined,
      segmentation,
    };
  });
}
