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

type CocoAnnotation = NonNullable<CocoFile["annotations"]>[number];

/** Distinct unknown image ids remembered for the warning; past this a 1 GiB file would grow the set unbounded. */
const MAX_UNKNOWN_IMAGE_IDS = 100_000;
/** Per-image warnings kept (the upload reports the first 50). */
const MAX_IMAGE_WARNINGS = 1000;

/**
 * Turns COCO annotations into import records, one record per image per batch (`take()`), with the file's
 * warnings counted across batches. Shared by the whole-file parser and the streamed import, so both read an
 * annotation the same way.
 */
export class CocoRecordBuilder {
  private records = new Map<string, ImportRecord>();
  private unknownImages = new Set<string>();
  private unknownOverflow = false;
  private imageWarnings: ParsedAnnotationFile["warnings"] = [];
  private crowd = 0;
  /** Records created so far, over every batch: zero means no annotation names a known image. */
  recordCount = 0;
  /** Annotations added since the last take(). */
  pending = 0;
  /** Annotations seen over every batch: names an annotation without an `id` by its place in the list. */
  private seen = 0;

  constructor(
    private task: TaskType,
    private categories: Map<string, string>,
    private fileNames: Map<string, string>,
  ) {}

  add(a: CocoAnnotation | null | undefined): void {
    if (!a || typeof a !== "object") return;
    this.pending++;
    const source =
      typeof a.id === "number" || typeof a.id === "string" ? `annotation id ${a.id}` : `annotation #${this.seen + 1}`;
    this.seen++;
    const task = this.task;
    const fileName = this.fileNames.get(String(a.image_id));
    if (!fileName) {
      if (this.unknownImages.size < MAX_UNKNOWN_IMAGE_IDS) this.unknownImages.add(String(a.image_id));
      else if (!this.unknownImages.has(String(a.image_id))) this.unknownOverflow = true;
      return;
    }
    let rec = this.records.get(fileName);
    if (!rec) {
      rec = { fileName, match: "exact", objects: [], classes: [], tags: [] };
      this.records.set(fileName, rec);
      this.recordCount++;
    }
    const cls = [this.categories.get(String(a.category_id)) ?? "none"];
    if (task === "object_detection") {
      const b = a.bbox;
      if (!Array.isArray(b) || b.length !== 4 || b.some((v) => typeof v !== "number")) return;
      rec.objects.push({ classes: cls, kind: "bbox", coordinates: [b[0], b[1], b[0] + b[2], b[1] + b[3]], source });
      return;
    }
    if (a.iscrowd) {
      this.crowd++;
      return;
    }
    const seg = a.segmentation as unknown;
    if (Array.isArray(seg)) {
      for (const poly of seg)
        if (Array.isArray(poly) && poly.length >= 6)
          rec.objects.push({ classes: cls, kind: "polygon", coordinates: poly as number[], source });
    } else if (seg && typeof seg === "object" && "counts" in seg && "size" in seg) {
      const polys = rleToPolygons(seg as { counts: string | number[]; size: [number, number] });
      if (!polys) {
        if (this.imageWarnings.length < MAX_IMAGE_WARNINGS)
          this.imageWarnings.push({ fileName, message: "RLE mask too large or malformed: skipped" });
      } else for (const p of polys) rec.objects.push({ classes: cls, kind: "polygon", coordinates: p, source });
    }
  }

  /** The records built since the last call, and a fresh start for the next batch. */
  take(): ImportRecord[] {
    const out = [...this.records.values()];
    this.records = new Map();
    this.pending = 0;
    return out;
  }

  warnings(): ParsedAnnotationFile["warnings"] {
    const warnings = [...this.imageWarnings];
    const unknown = this.unknownImages;
    if (unknown.size) {
      const ids = [...unknown].slice(0, 20).join(", ");
      const count = this.unknownOverflow ? `More than ${unknown.size}` : `${unknown.size}`;
      warnings.push({
        message: `${count} image_id(s) referenced by annotations are not in images[]: ${ids}${unknown.size > 20 ? ", ..." : ""}`,
      });
    }
    if (this.crowd) warnings.push({ message: `${this.crowd} crowd annotation(s) skipped` });
    return warnings;
  }
}

/**
 * COCO JSON (§4.4). Detection: bbox [x, y, w, h] → box. Segmentation: every polygon its own object; RLE masks
 * (natively, beyond Remo) traced into polygons; crowd annotations skipped with a warning. Images are matched by
 * exact `file_name`, then by its base name (`train/img_001.jpg` finds `img_001.jpg`; the upload reports the
 * fallback). Unknown category ids become class "none", as Remo does. A file whose `annotations` is empty is valid
 * (no records, no warning). Objects are named `annotation id N` in warnings. Null when the JSON is not COCO.
 * This reads the whole text; uploads go through the streamed twin, `streamCoco` (import-coco-stream.ts).
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
  const builder = new CocoRecordBuilder(task, categories, fileNames);
  for (const a of data.annotations!) builder.add(a);
  return { format: "coco", records: builder.take(), warnings: builder.warnings() };
}
