import { pointsExtent } from "../lib/object-bounds";
import { taskName } from "../lib/task";
import { coord, pyJson } from "./export-text";
import {
  drawableObjects,
  exportedName,
  isAnnotated,
  type ExportImage,
  type ExportOptions,
  type ExportPages,
} from "./export-types";

/** One image as Remo's JSON export writes it (remo-reference §5.1). */
export function remoJsonElement(img: ExportImage, opts: ExportOptions): Record<string, unknown> {
  const percent = opts.coordinates === "percent";
  const base = {
    file_name: exportedName(img, opts.fullPath),
    height: img.height,
    tags: img.tags,
    task: taskName(opts.task),
    width: img.width,
  };
  if (!isAnnotated(img)) return { ...base, annotations: [] };
  if (opts.task === "image_classification") return { ...base, classes: img.classes };
  const x = (v: number) => coord(v, img.width, percent);
  const y = (v: number) => coord(v, img.height, percent);
  const annotations = drawableObjects(img).map((o) => {
    const c = o.coordinates;
    if (opts.task === "instance_segmentation") {
      const segments = [];
      for (let i = 0; i + 1 < c.length; i += 2) segments.push({ x: x(c[i]), y: y(c[i + 1]) });
      return { classes: o.classes, segments };
    }
    const [xmin, ymin, xmax, ymax] = o.kind === "bbox" ? c : pointsExtent(c);
    return { bbox: { xmax: x(xmax), xmin: x(xmin), ymax: y(ymax), ymin: y(ymin) }, classes: o.classes };
  });
  return { ...base, annotations };
}

/** Remo JSON: a pretty-printed array, one element per image, written as the pages arrive. */
export async function* exportRemoJson(pages: ExportPages, opts: ExportOptions): AsyncGenerator<string> {
  let first = true;
  for await (const page of pages) {
    let s = "";
    for (const img of page) {
      s += (first ? "[\n  " : ",\n  ") + pyJson(remoJsonElement(img, opts), 2);
      first = false;
    }
    if (s) yield s;
  }
  yield first ? "[]" : "\n]";
}
