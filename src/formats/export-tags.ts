import { csvField } from "./export-text";
import type { ExportPages } from "./export-types";

/** `tags.csv`: `file_name,tag`, one row per (image, tag), always the base name (remo-reference §5.4). */
export async function* exportTagsCsv(pages: ExportPages): AsyncGenerator<string> {
  yield "file_name,tag\n";
  for await (const page of pages) {
    let s = "";
    for (const img of page) {
      const name = csvField(img.fileName);
      for (const t of img.tags) s += `${name},${csvField(t)}\n`;
    }
    if (s) yield s;
  }
}
