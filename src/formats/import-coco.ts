import type { TaskType } from "../lib/task";
import { rleToPolygons } from "./coco-rle";
import type { ImportRecord, ParsedAnnotationFile } from "./types";

export class CocoRefused extends Error {}

interface CocoFile {
  images?: { id: number | string; file_name?: string }[];
  annotations?: {
    id?: unknown;
    image_id: number | string;
    category_id: number | string;
    bbox?: number[];
    segmentation?: unknown;
    iscrowd?: number;
  }[];
  categories?: { id: number | string; name?: string }[];
}

async function readText(input: string | ReadableStream<Uint8Array>): Promise<string> {
  if (typeof input === "string") return input;
  return new Response(input).text();
}

/** Whether a parsed JSON value has COCO's shape (annotations with image ids and category ids, images, categories). */
export function looksLikeCoco(v: unknown): v is CocoFile {
  if (!v || typeof v !== "object" || Array.isArray(v)) return false;
  const o = v as CocoFile;
  return Array.isArray(o.annotations) && Array.isArray(o.images) && Array.isArray(o.categories);
}

/**
 * COCO JSON (§4.4). Detection: bbox [x, y, w, h] → box. Segmentation: every polygon its own object; RLE masks
 * (natively, beyond Remo) traced into polygons; crowd annotations skipped with a warning. Images are matched by
 * exact `file_name`. Unknown category ids become class "none", as Remo does. Null when the JSON is not COCO.
 */
export async function parseCoco(
  input: string | ReadableStream<Uint8Array>,
  task: TaskType,
): Promise<ParsedAnnotationFile | null> {
  if (task === "image_classification") return null;
  let data: unknown;
  try {
    data = JSON.parse(await readText(input));
  } catch {
    return null;
  }
  if (!looksLikeCoco(data)) return null;
  if (!data.categories!.length) throw new CocoRefused("Empty list of categories");
  const categories = new Map(data.categories!.map((c) => [String(c.id), String(c.name ?? "none")]));
  const fileNames = new Map<string, string>();
  for (const img of data.images!) if (img && img.file_name) fileNames.set(String(img.id), String(img.file_name));
  const records = new Map<string, ImportRecord>();
  const warnings: ParsedAnnotationFile["warnings"] = [];
  const unknownImages = new Set<string>();
  let crowd = 0;
  for (const a of data.annotations!) {
    if (!a || typeof a !== "object") continue;
    const fileName = fileNames.get(String(a.image_id));
    if (!fileName) {
      unknownImages.add(String(a.image_id));
      continue;
    }
    let rec = records.get(fileName);
    if (!rec) {
      rec = { fileName, match: "exact", objects: [], classes: [], tags: [] };
      records.set(fileName, rec);
    }
    const cls = [categories.get(String(a.category_id)) ?? "none"];
    if (task === "object_detection") {
      const b = a.bbox;
      if (!Array.isArray(b) || b.length !== 4 || b.some((v) => typeof v !== "number")) continue;
      rec.objects.push({ classes: cls, kind: "bbox", coordinates: [b[0], b[1], b[0] + b[2], b[1] + b[3]] });
      continue;
    }
    if (a.iscrowd) {
      crowd++;
      continue;
    }
    const seg = a.segmentation as unknown;
    if (Array.isArray(seg)) {
      for (const poly of seg)
        if (Array.isArray(poly) && poly.length >= 6)
          rec.objects.push({ classes: cls, kind: "polygon", coordinates: poly as number[] });
    } else if (seg && typeof seg === "object" && "counts" in seg && "size" in seg) {
      const polys = rleToPolygons(seg as { counts: string | number[]; size: [number, number] });
      if (!polys) warnings.push({ fileName, message: "RLE mask too large or malformed: skipped" });
      else for (const p of polys) rec.objects.push({ classes: cls, kind: "polygon", coordinates: p });
    }
  }
  if (unknownImages.size) {
    const ids = [...unknownImages].slice(0, 20).join(", ");
    warnings.push({
      message: `${unknownImages.size} image_id(s) referenced by annotations are not in images[]: ${ids}${unknownImages.size > 20 ? ", ..." : ""}`,
    });
  }
  if (crowd) warnings.push({ message: `${crowd} crowd annotation(s) skipped` });
  return { format: "coco", records: [...records.values()], warnings };
}
