import type { TaskType } from "../lib/task";
import type { ImportRecord, ImportedObject, ParsedAnnotationFile } from "./types";

/**
 * RFC 4180 rows (quoted fields, doubled quotes, CRLF or LF). Empty lines are dropped. A BOM is ignored.
 * Yields rows one by one so a large file is not split into one big array of arrays first.
 */
export function* csvRows(text: string, delimiter = ","): Generator<string[]> {
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const n = text.length;
  while (i < n) {
    const row: string[] = [];
    for (;;) {
      let field = "";
      if (text[i] === '"') {
        i++;
        for (;;) {
          const q = text.indexOf('"', i);
          if (q < 0) {
            field += text.slice(i);
            i = n;
            break;
          }
          field += text.slice(i, q);
          i = q + 1;
          if (text[i] === '"') {
            field += '"';
            i++;
          } else break;
        }
        // Anything between the closing quote and the delimiter is kept, as lenient parsers do.
        while (i < n && text[i] !== delimiter && text[i] !== "\n" && text[i] !== "\r") field += text[i++];
      } else {
        let j = i;
        while (j < n && text[j] !== delimiter && text[j] !== "\n" && text[j] !== "\r") j++;
        field = text.slice(i, j);
        i = j;
      }
      row.push(field);
      if (i < n && text[i] === delimiter) {
        i++;
        continue;
      }
      if (text[i] === "\r") i++;
      if (text[i] === "\n") i++;
      break;
    }
    if (row.length > 1 || row[0] !== "") yield row;
  }
}

/** Remo's header aliases (remo-reference §4.1), matched case-insensitively after trimming. */
const ALIASES = {
  file_name: [
    "image",
    "image_id",
    "image id",
    "file_name",
    "filename",
    "file",
    "file name",
    "file_path",
    "path",
    "file path",
  ],
  class_name: ["class", "label", "name", "class_name", "class name", "label_name", "label name", "category", "classes"],
  xmin: ["xmin", "x_min", "x min", "x1", "x_1"],
  ymin: ["ymin", "y_min", "y min", "y1", "y_1"],
  xmax: ["xmax", "x_max", "x max", "x2", "x_2"],
  // Remo lists "y min" under ymax too (a typo); it is already taken by ymin, so it can never match here.
  ymax: ["ymax", "y_max", "y2", "y_2"],
} as const;
type Field = keyof typeof ALIASES;

/** Column index per logical field, or null when a field is missing or recognised twice. */
export function csvColumns(header: string[], fields: Field[]): Record<Field, number> | null {
  const out: Partial<Record<Field, number>> = {};
  header.forEach((h, idx) => {
    const k = h.trim().toLowerCase();
    for (const f of fields) {
      if ((ALIASES[f] as readonly string[]).includes(k)) {
        if (out[f] !== undefined) out[f] = -1;
        else out[f] = idx;
      }
    }
  });
  for (const f of fields) if (out[f] === undefined || out[f] === -1) return null;
  return out as Record<Field, number>;
}

/** Classes in one cell: `;`-separated, trimmed, empty ones dropped. */
export function splitClasses(cell: string | undefined): string[] {
  return (cell ?? "")
    .split(";")
    .map((s) => s.trim())
    .filter(Boolean);
}

const num = (s: string | undefined) => {
  const v = Number((s ?? "").trim());
  return Number.isFinite(v) && (s ?? "").trim() !== "" ? v : 0;
};

/** Groups records by file name, keeping first-seen order (Remo flushes on a name change; merging is equivalent). */
export class RecordBuilder {
  private byName = new Map<string, ImportRecord>();
  constructor(private match: ImportRecord["match"]) {}
  get(fileName: string): ImportRecord {
    let r = this.byName.get(fileName);
    if (!r) {
      r = { fileName, match: this.match, objects: [], classes: [], tags: [] };
      this.byName.set(fileName, r);
    }
    return r;
  }
  records(): ImportRecord[] {
    return [...this.byName.values()];
  }
}

/**
 * A CSV whose header names `fields` (§4.1 aliases), read row by row: each data row with its 1-based line number and
 * trimmed file name. A row without a file name becomes a warning and is not yielded. Null when the file is empty or
 * the header lacks a field (the file is then "not recognised"). `warnings` fills as `rows` is iterated.
 */
export function readCsvTable(text: string, fields: Field[]) {
  const all = csvRows(text);
  const first = all.next();
  if (first.done) return null;
  const cols = csvColumns(first.value, fields);
  if (!cols) return null;
  const warnings: ParsedAnnotationFile["warnings"] = [];
  function* rows() {
    let line = 1;
    for (const row of all) {
      line++;
      const fileName = (row[cols!.file_name] ?? "").trim();
      if (!fileName) warnings.push({ message: `line ${line}: no file name` });
      else yield { row, line, fileName };
    }
  }
  return { header: first.value, cols, warnings, rows: rows() };
}

/**
 * Remo's plain CSV (§4.1 object detection, §4.2 image classification). Null when the header does not have the
 * task's columns (the file is then "not recognised" for the task). Instance segmentation's polygon CSV is
 * src/formats/import-csv-polygons.ts.
 */
export function parsePlainCsv(text: string, task: TaskType): ParsedAnnotationFile | null {
  if (task === "instance_segmentation") return null;
  const fields: Field[] =
    task === "object_detection"
      ? ["file_name", "class_name", "xmin", "ymin", "xmax", "ymax"]
      : ["file_name", "class_name"];
  const table = readCsvTable(text, fields);
  if (!table) return null;
  const { cols, warnings } = table;
  const out = new RecordBuilder("basename");
  for (const { row, line, fileName } of table.rows) {
    const classes = splitClasses(row[cols.class_name]);
    const rec = out.get(fileName);
    if (task === "image_classification") {
      for (const c of classes) if (!rec.classes.includes(c)) rec.classes.push(c);
      continue;
    }
    const c = [num(row[cols.xmin]), num(row[cols.ymin]), num(row[cols.xmax]), num(row[cols.ymax])];
    const obj: ImportedObject = { classes, kind: "bbox", coordinates: c, source: `line ${line}` };
    if (c.every((v) => v <= 1)) obj.relative = true;
    rec.objects.push(obj);
  }
  return { format: "csv", records: out.records(), warnings };
}
