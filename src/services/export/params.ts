import { badRequest } from "../../lib/errors";
import type { TaskType } from "../../lib/task";

export const EXPORT_FORMATS = ["json", "coco", "csv", "yolo", "voc"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportParams {
  format: ExportFormat;
  coordinates: "pixel" | "percent";
  fullPath: boolean;
  exportTags: boolean;
  withoutAnnotations: boolean;
  /** Lower-cased, trimmed, de-duplicated, sorted (so identical requests have one dedupe key); null = no filter. */
  filterByTags: string[] | null;
}

const TRUE = new Set(["true", "True", "1"]);
const FALSE = new Set(["false", "False", "0"]);

/** Remo's wording: "a", "a or b", "a, b or c". */
function choices(values: readonly string[]): string {
  return values.length < 2 ? values.join("") : `${values.slice(0, -1).join(", ")} or ${values[values.length - 1]}`;
}

function invalid(name: string, values: readonly string[]) {
  return badRequest(`Exporter parameter ${name} can be: ${choices(values)}`, [
    { path: name, message: `can be: ${choices(values)}` },
  ]);
}

function oneOf<T extends string>(
  q: Record<string, string | undefined>,
  name: string,
  values: readonly T[],
  dflt: T,
): T {
  const v = q[name];
  if (v === undefined || v === "") return dflt;
  if (!(values as readonly string[]).includes(v)) throw invalid(name, values);
  return v as T;
}

function bool(q: Record<string, string | undefined>, name: string, dflt: boolean): boolean {
  const v = q[name];
  if (v === undefined || v === "") return dflt;
  if (TRUE.has(v)) return true;
  if (FALSE.has(v)) return false;
  throw invalid(name, ["true", "false"]);
}

export function parseTagFilter(raw: string | undefined): string[] | null {
  if (raw === undefined) return null;
  const tags = [
    ...new Set(
      raw
        .split(",")
        .map((t) => t.trim().toLowerCase())
        .filter(Boolean),
    ),
  ].sort();
  return tags.length ? tags : null;
}

/**
 * The export query as Remo validates it (remo-reference §2.9): each bad value is a 400 "Exporter parameter <name>
 * can be: ...". Booleans also take this API's True/False/1/0; `export_classes` is validated and unused, as in Remo.
 */
export function parseExportParams(raw: Record<string, string | undefined>): ExportParams {
  // The API reference's own example quotes its values (`annotation_format='json'`); accept that spelling too.
  const q = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, v && /^'.*'$/.test(v) ? v.slice(1, -1) : v]));
  const params: ExportParams = {
    format: oneOf(q, "annotation_format", EXPORT_FORMATS, "json"),
    coordinates: oneOf(q, "export_coordinates", ["pixel", "percent"] as const, "pixel"),
    fullPath: bool(q, "full_path", false),
    exportTags: bool(q, "export_tags", false),
    withoutAnnotations: bool(q, "export_without_annotations", false),
    filterByTags: parseTagFilter(q.filter_by_tags),
  };
  bool(q, "export_classes", false);
  // Remo re-encodes names with these label tables; names are exported as stored (the tables are not bundled).
  oneOf(q, "class_encoding", ["autodetect", "WordNet", "GoogleKnowledgeGraph"] as const, "autodetect");
  return params;
}

/** The (task, format) pairs with an exporter; others are Remo's 404. */
export function exporterExists(task: TaskType, format: ExportFormat): boolean {
  if (format === "yolo") return task !== "image_classification";
  if (format === "voc") return task !== "instance_segmentation";
  return true;
}
