import { pointsExtent } from "../lib/object-bounds";
import { labelStem } from "./export-yolo";
import { drawableObjects, exportedName, type ExportImage, type ExportOptions, type ExportPages } from "./export-types";
import type { ZipEntry } from "./zip-writer";

const XML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" };
export const xmlEscape = (s: string) => s.replace(/[&<>"']/g, (c) => XML_ESCAPES[c]);

/** One Pascal VOC annotation file. Classification images get `<object><name>` only, as Remo's VOC importer reads them. */
export function vocXml(img: ExportImage, opts: ExportOptions): string {
  const name = exportedName(img, opts.fullPath);
  let s =
    "<annotation>\n" +
    `  <filename>${xmlEscape(name)}</filename>\n` +
    `  <size>\n    <width>${img.width}</width>\n    <height>${img.height}</height>\n    <depth>3</depth>\n  </size>\n` +
    "  <segmented>0</segmented>\n";
  if (opts.task === "image_classification") {
    for (const c of img.classes) s += `  <object>\n    <name>${xmlEscape(c)}</name>\n  </object>\n`;
  } else {
    for (const o of drawableObjects(img)) {
      const [xmin, ymin, xmax, ymax] = (o.kind === "bbox" ? o.coordinates : pointsExtent(o.coordinates)).map(
        Math.trunc,
      );
      for (const c of o.classes.slice(0, 1)) {
        s +=
          `  <object>\n    <name>${xmlEscape(c)}</name>\n    <pose>Unspecified</pose>\n    <truncated>0</truncated>\n    <difficult>0</difficult>\n` +
          `    <bndbox>\n      <xmin>${xmin}</xmin>\n      <ymin>${ymin}</ymin>\n      <xmax>${xmax}</xmax>\n      <ymax>${ymax}</ymax>\n    </bndbox>\n  </object>\n`;
      }
    }
  }
  return s + "</annotation>\n";
}

/** Pascal VOC (native, API.md): one `Annotations/<stem>.xml` per image, pixel boxes. */
export async function* vocEntries(pages: ExportPages, opts: ExportOptions): AsyncGenerator<ZipEntry> {
  for await (const page of pages) {
    for (const img of page)
      yield { name: `Annotations/${labelStem(exportedName(img, opts.fullPath))}.xml`, data: vocXml(img, opts) };
  }
}
