import type { TaskType } from "../lib/task";
import { RecordBuilder } from "./import-csv";
import type { ParsedAnnotationFile } from "./types";

export class XmlRefused extends Error {}

const PREDEFINED: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

/** Only the five predefined entities and character references: nothing a document declares is ever expanded. */
function decode(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|\w+);/gi, (m, e: string) => {
    if (e[0] === "#") {
      const cp = e[1] === "x" || e[1] === "X" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return Number.isFinite(cp) && cp > 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : m;
    }
    return PREDEFINED[e] ?? m;
  });
}

const stripCdata = (s: string) =>
  s.replace(/<!\[CDATA\[([\s\S]*?)\]\]>/g, (_m, c) =>
    c.replace(/[<&]/g, (x: string) => (x === "<" ? "&lt;" : "&amp;")),
  );

/** The inner text of each direct-or-nested `<tag>` in `xml` (first level it occurs at). */
function elements(xml: string, tag: string): string[] {
  const out: string[] = [];
  const re = new RegExp(`<${tag}(?:\\s[^>]*)?>([\\s\\S]*?)</${tag}\\s*>`, "g");
  for (let m = re.exec(xml); m; m = re.exec(xml)) out.push(m[1]);
  return out;
}

const text = (xml: string, tag: string) => {
  const e = elements(xml, tag)[0];
  return e === undefined ? undefined : decode(e.replace(/<[^>]*>/g, "")).trim();
};

/**
 * Pascal VOC (§4.3): one XML per image with `filename` and `size` and `object` elements. Documents with a DOCTYPE
 * (and so entity declarations) are refused outright: no expansion, no billion laughs, no external entities.
 * Box numbers are pixels; the writer clamps them to the image's stored size, so `<size>` may be missing (Remo
 * requires it; the uploaded image's own size is known). A file with `<size>` and no `<object>` is a valid "no
 * object here": one record with none (the image is left as it is, not marked annotated). Each object is named
 * `object N (class)` in warnings. Null when the document is not VOC (no `filename`, or neither `size` nor `object`).
 */
export function parseVoc(xml: string, task: TaskType): ParsedAnnotationFile | null {
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw new XmlRefused("XML with DOCTYPE or ENTITY declarations is not accepted");
  if (task === "instance_segmentation") return null;
  const body = stripCdata(xml.replace(/<!--[\s\S]*?-->/g, ""));
  const fileName = text(body, "filename");
  if (!fileName || !/<(size|object)[\s>]/.test(body)) return null;
  const out = new RecordBuilder("basename");
  const rec = out.get(fileName);
  const warnings: ParsedAnnotationFile["warnings"] = [];
  for (const [i, obj] of elements(body, "object").entries()) {
    const name = text(obj, "name");
    const source = `object ${i + 1}${name ? ` (${name})` : ""}`;
    const classes = name ? [name] : [];
    if (task === "image_classification") {
      for (const c of classes) if (!rec.classes.includes(c)) rec.classes.push(c);
      continue;
    }
    const box = elements(obj, "bndbox")[0];
    if (box === undefined) {
      warnings.push({ fileName, message: `${source} has no bndbox` });
      continue;
    }
    const c = ["xmin", "ymin", "xmax", "ymax"].map((k) => {
      const v = Number(text(box, k));
      return Number.isFinite(v) ? v : 0;
    });
    rec.objects.push({ classes, kind: "bbox", coordinates: c, source });
  }
  return { format: "voc", records: out.records(), warnings };
}
