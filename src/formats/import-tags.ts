import { csvRows, RecordBuilder } from "./import-csv";
import type { ParsedAnnotationFile } from "./types";

/** True when the first non-empty row is exactly `file_name,tag` (Remo: case-sensitive, no other columns). */
export function isTagsCsv(text: string): boolean {
  const first = csvRows(text).next();
  return !first.done && first.value.length === 2 && first.value[0] === "file_name" && first.value[1] === "tag";
}

/** Remo's tags CSV (§4.5): one `file_name,tag` per row. Null when the header is not exactly that. */
export function parseTagsCsv(text: string): ParsedAnnotationFile | null {
  const rows = csvRows(text);
  const first = rows.next();
  if (first.done || first.value.length !== 2 || first.value[0] !== "file_name" || first.value[1] !== "tag") return null;
  const out = new RecordBuilder("basename");
  for (const row of rows) {
    const fileName = (row[0] ?? "").trim();
    const tag = (row[1] ?? "").trim();
    if (!fileName || !tag) continue;
    const rec = out.get(fileName);
    if (!rec.tags.includes(tag)) rec.tags.push(tag);
  }
  return { format: "tags", records: out.records(), warnings: [] };
}
