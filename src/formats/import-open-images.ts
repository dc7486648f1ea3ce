import type { TaskType } from "../lib/task";
import { csvRows, RecordBuilder } from "./import-csv";
import type { ParsedAnnotationFile } from "./types";

const REQUIRED = [
  "ImageID",
  "Source",
  "LabelName",
  "Confidence",
  "XMin",
  "XMax",
  "YMin",
  "YMax",
  "IsOccluded",
  "IsTruncated",
  "IsGroupOf",
  "IsDepiction",
  "IsInside",
];

/**
 * Open Images box CSV (§4.6), object detection only. `ImageID` has no extension: the writer probes them
 * (match "basename"). Coordinates are fractions unless one exceeds 1. Label ids (`/m/...`) are kept as written
 * here; the upload decodes them to names with every other importer's classes (src/formats/class-encodings.ts).
 */
export function parseOpenImages(text: string, task: TaskType): ParsedAnnotationFile | null {
  if (task !== "object_detection") return null;
  const rows = csvRows(text);
  const first = rows.next();
  if (first.done) return null;
  const idx = new Map(first.value.map((h, i) => [h.trim(), i]));
  if (!REQUIRED.every((h) => idx.has(h))) return null;
  const col = (row: string[], h: string) => row[idx.get(h)!] ?? "";
  const out = new RecordBuilder("basename");
  let line = 1;
  for (const row of rows) {
    line++;
    const id = col(row, "ImageID").trim();
    if (!id) continue;
    const c = ["XMin", "YMin", "XMax", "YMax"].map((h) => {
      const v = Number(col(row, h));
      return Number.isFinite(v) ? v : 0;
    });
    const label = col(row, "LabelName").trim();
    out.get(id).objects.push({
      classes: label ? [label] : [],
      kind: "bbox",
      coordinates: c,
      source: `line ${line}`,
      ...(c.every((v) => v <= 1) ? { relative: true } : {}),
    });
  }
  return { format: "open-images", records: out.records(), warnings: [] };
}
