import type { TaskType } from "../lib/task";
import { readCsvTable, RecordBuilder, splitClasses } from "./import-csv";
import type { ParsedAnnotationFile } from "./types";

/** Header names of the points column: the SDK's and Remo's exporter's `coordinates`, and plain synonyms. */
const COORDINATE_HEADERS = ["coordinates", "points", "polygon", "segmentation"];

/**
 * The instance-segmentation CSV the SDK writes for polygons (`Dataset.add_annotations`, SDK
 * `remo/annotation_utils.py` `SimpleCSVForInstanceSegmentation`), which is also what our CSV export writes
 * (remo-reference §5.2): header `file_name,class_name,coordinates` (the §4.1 aliases for the first two, so
 * Remo's `classes` matches), one row per polygon, classes `;`-separated, and the points `x1; y1; x2; y2; ...`
 * (the SDK joins `str()` of each number with "; "; commas or spaces between numbers are read too).
 *
 * Units: pixels, or fractions of the image's width/height when every number is ≤ 1 (the §4.1 rule for boxes, and
 * what a `percent` export writes). Remo itself has no importer for this (§4.0: export only); we do.
 *
 * Returns null unless the task is instance segmentation and the header has the three columns (the file is then
 * "not recognised"). A row with no points is an image without annotations (as exported) and is skipped quietly;
 * a row whose points are not numbers, are odd in count or fewer than 3 points is skipped with a warning.
 */
export function parsePolygonCsv(text: string, task: TaskType): ParsedAnnotationFile | null {
  if (task !== "instance_segmentation") return null;
  const table = readCsvTable(text, ["file_name", "class_name"]);
  if (!table) return null;
  const { header, cols, warnings } = table;
  const coordCols = header.flatMap((h, i) => (COORDINATE_HEADERS.includes(h.trim().toLowerCase()) ? [i] : []));
  if (coordCols.length !== 1) return null;
  const coordCol = coordCols[0];
  const out = new RecordBuilder("basename");
  for (const { row, line, fileName } of table.rows) {
    const cell = (row[coordCol] ?? "").trim();
    if (!cell) continue;
    const nums = cell
      .split(/[\s;,]+/)
      .filter(Boolean)
      .map(Number);
    if (nums.some((v) => !Number.isFinite(v)) || nums.length % 2 !== 0 || nums.length < 6) {
      warnings.push({ fileName, message: `line ${line}: coordinates are not a polygon of 3 or more x; y points` });
      continue;
    }
    out.get(fileName).objects.push({
      classes: splitClasses(row[cols.class_name]),
      kind: "polygon",
      coordinates: nums,
      source: `line ${line}`,
      ...(nums.every((v) => v <= 1) ? { relative: true } : {}),
    });
  }
  return { format: "csv", records: out.records(), warnings };
}
