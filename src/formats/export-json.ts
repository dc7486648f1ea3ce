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
    const [xmin, ymin, xmax, ymax] = o.kind === "bbox" ? c : extent(c);
    return { bbox: { xmax: x(xmax), xmin: x(xmin), ymax: y(ymax), ymin: y(ymin) }, classes: o.classes };
  });
  return { ...base, annotations };
}

/** [xmin, ymin, xmax, ymax] of a flat point list. */
export function extent(c: number[]): [number, number, number, number] {
  let xmin = Infinity,
    ymin = Infinity,
    xmax = -Infinity,
    ymax = -Infinity;
  for (let i = 0; i + 1 < c.length; i += 2) {
    if (c[i] < xmin) xmin = c[i];
    if (c[i] > xmax) xmax = c[i];
    if (c[i + 1] < ymin) ymin = c[i + 1];
    if (c[i + 1] > ymax) ymax = c[i + 1];
  }
  return xmin === Infinity ? [0, 0, 0, 0] : [xmin, ymin, xmax, ymax];
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
