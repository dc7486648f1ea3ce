import { pointsExtent } from "../lib/object-bounds";
import { drawableObjects, exportedName, type ExportOptions, type ExportPages } from "./export-types";
import type { ZipEntry } from "./zip-writer";

/** `labels/<stem>.txt` for an image: its exported name without folders and extension. */
export function labelStem(name: string): string {
  const base = name.slice(Math.max(name.lastIndexOf("/"), name.lastIndexOf("\\")) + 1);
  const dot = base.lastIndexOf(".");
  return dot > 0 ? base.slice(0, dot) : base;
}

const f = (v: number) => {
  const s = v.toFixed(6);
  return s === "-0.000000" ? "0.000000" : s;
};

/** Class indices in set order, extended by any class met in the data; `classes.txt` goes last so it has them all. */
class ClassIndex {
  private index = new Map<string, number>();
  constructor(names: string[]) {
    for (const n of names) this.of(n);
  }
  of(name: string): number {
    let i = this.index.get(name);
    if (i === undefined) this.index.set(name, (i = this.index.size));
    return i;
  }
  text(): string {
    return [...this.index.keys()].join("\n") + (this.index.size ? "\n" : "");
  }
}

/**
 * YOLO (native, API.md): zip entries `labels/<stem>.txt` (`class cx cy w h`, normalised; for segmentation
 * `class x1 y1 x2 y2 ...`), then `classes.txt`. An object's first class is its YOLO class.
 */
export async function* yoloEntries(
  pages: ExportPages,
  classNames: string[],
  opts: ExportOptions,
): AsyncGenerator<ZipEntry> {
  const classes = new ClassIndex(classNames);
  for await (const page of pages) {
    for (const img of page) {
      const W = img.width || 1;
      const H = img.height || 1;
      let s = "";
      for (const o of drawableObjects(img)) {
        if (!o.classes.length) continue;
        const k = classes.of(o.classes[0]);
        if (opts.task === "instance_segmentation" && o.kind === "polygon") {
          const c = o.coordinates;
          const nums: string[] = [];
          for (let i = 0; i + 1 < c.length; i += 2) nums.push(f(c[i] / W), f(c[i + 1] / H));
          s += `${k} ${nums.join(" ")}\n`;
        } else {
          const [xmin, ymin, xmax, ymax] = o.kind === "bbox" ? o.coordinates : pointsExtent(o.coordinates);
          s += `${k} ${f((xmin + xmax) / 2 / W)} ${f((ymin + ymax) / 2 / H)} ${f((xmax - xmin) / W)} ${f((ymax - ymin) / H)}\n`;
        }
      }
      yield { name: `labels/${labelStem(exportedName(img, opts.fullPath))}.txt`, data: s };
    }
  }
  yield { name: "classes.txt", data: classes.text() };
}
