import { pointsExtent } from "../lib/object-bounds";
import { coordText, csvField } from "./export-text";
import { drawableObjects, exportedName, isAnnotated, type ExportOptions, type ExportPages } from "./export-types";

/** Remo joins several classes (and segmentation numbers) with "; " (remo-reference §5.2). */
const JOIN = "; ";

export function csvHeader(opts: Pick<ExportOptions, "task">): string {
  if (opts.task === "image_classification") return "file_name,classes\n";
  if (opts.task === "instance_segmentation") return "file_name,classes,coordinates\n";
  return "file_name,classes,xmin,ymin,xmax,ymax\n";
}

/** Remo's plain CSV: one row per object (one per image for classification); LF line ends like Remo's own files. */
export async function* exportCsv(pages: ExportPages, opts: ExportOptions): AsyncGenerator<string> {
  yield csvHeader(opts);
  const percent = opts.coordinates === "percent";
  for await (const page of pages) {
    let s = "";
    for (const img of page) {
      const name = csvField(exportedName(img, opts.fullPath));
      if (!isAnnotated(img)) {
        s +=
          opts.task === "image_classification"
            ? `${name},\n`
            : opts.task === "instance_segmentation"
              ? `${name},,\n`
              : `${name},,,,,\n`;
        continue;
      }
      const x = (v: number) => coordText(v, img.width, percent);
      const y = (v: number) => coordText(v, img.height, percent);
      if (opts.task === "image_classification") {
        s += `${name},${csvField(img.classes.join(JOIN))}\n`;
        continue;
      }
      for (const o of drawableObjects(img)) {
        const classes = csvField(o.classes.join(JOIN));
        const c = o.coordinates;
        if (opts.task === "instance_segmentation") {
          const nums: string[] = [];
          for (let i = 0; i + 1 < c.length; i += 2) nums.push(x(c[i]), y(c[i + 1]));
          s += `${name},${classes},${nums.join(JOIN)}\n`;
        } else {
          const [xmin, ymin, xmax, ymax] = o.kind === "bbox" ? c : pointsExtent(c);
          s += `${name},${classes},${x(xmin)},${y(ymin)},${x(xmax)},${y(ymax)}\n`;
        }
      }
    }
    if (s) yield s;
  }
}
