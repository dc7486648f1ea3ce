import type { TaskType } from "../lib/task";
import type { ImportRecord, ParsedAnnotationFile } from "./types";

/**
 * Class names from `classes.txt` (one per line) or a `data.yaml` (`names: [a, b]`, a `names:` block list, or
 * a `names:` map of index → name). Only that key of the YAML is read.
 */
export function parseYoloClasses(fileName: string, text: string): string[] {
  if (!/\.ya?ml$/i.test(fileName))
    return text
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter(Boolean);
  const unquote = (s: string) => s.trim().replace(/^['"]|['"]$/g, "");
  const inline = /^names\s*:\s*\[(.*)\]\s*$/m.exec(text);
  if (inline) return inline[1].split(",").map(unquote).filter(Boolean);
  const lines = text.split(/\r?\n/);
  const start = lines.findIndex((l) => /^names\s*:\s*$/.test(l));
  if (start < 0) return [];
  const out: string[] = [];
  const byIndex = new Map<number, string>();
  let entries = 0;
  for (const l of lines.slice(start + 1)) {
    if (!/^\s+\S/.test(l)) break;
    const list = /^\s+-\s*(.+)$/.exec(l);
    const map = /^\s+(\d+)\s*:\s*(.+)$/.exec(l);
    if (list) out.push(unquote(list[1]));
    else if (map) {
      entries++;
      byIndex.set(Number(map[1]), unquote(map[2]));
    }
  }
  if (!byIndex.size) return out;
  // A map's indices index the list: one past the block's entry count (or the cap) could only make a sparse array as
  // long as the largest index (4294967294 → minutes of CPU), so such an entry is ignored and the list stays dense.
  const bound = Math.min(entries, MAX_YOLO_MAP_INDEX + 1);
  let length = 0;
  for (const i of byIndex.keys()) if (Number.isSafeInteger(i) && i < bound) length = Math.max(length, i + 1);
  return Array.from({ length }, (_, i) => byIndex.get(i) ?? String(i));
}

/** The largest class index a `data.yaml` `names:` map may use. */
export const MAX_YOLO_MAP_INDEX = 10_000;

/**
 * One YOLO label file (`labels/<image base name>.txt`): `class cx cy w h` (normalised) per box, or
 * `class x1 y1 x2 y2 ...` (normalised polygon) for segmentation. The image is the file's base name with its
 * extension probed, so matching is "basename"; coordinates are relative (the writer knows the image size).
 *
 * `classNames` is the list from `classes.txt` / `data.yaml` (`classFile` names it in warnings). With a list, a
 * class index past its end (or negative) is a warning naming the file, line and index, and the line is skipped
 * (Ultralytics refuses such labels); without one, an index is its own class name ("3"). An empty or
 * whitespace-only file is a background image (Ultralytics' convention): one record with no object, marked
 * `annotatedEmpty`. Null when a line is not numbers (not YOLO) or for image classification.
 */
export function parseYoloLabels(
  labelFileName: string,
  text: string,
  classNames: string[],
  task: TaskType,
  classFile = "classes.txt",
): ParsedAnnotationFile | null {
  if (task === "image_classification") return null;
  const base = labelFileName.replace(/^.*[\\/]/, "").replace(/\.txt$/i, "");
  const rec: ImportRecord = { fileName: base, match: "basename", objects: [], classes: [], tags: [] };
  if (!text.trim()) return { format: "yolo", records: [{ ...rec, annotatedEmpty: true }], warnings: [] };
  const warnings: ParsedAnnotationFile["warnings"] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const parts = lines[i].trim().split(/\s+/).filter(Boolean);
    if (!parts.length) continue;
    const nums = parts.map(Number);
    if (nums.some((n) => !Number.isFinite(n)) || !Number.isInteger(nums[0])) return null;
    const source = `line ${i + 1}`;
    const index = nums[0];
    if (index < 0 || (classNames.length && index >= classNames.length)) {
      warnings.push({
        fileName: labelFileName,
        message: classNames.length
          ? `${source}: class index ${index} is not in ${classFile} (${classNames.length} classes, ids 0–${classNames.length - 1}); line skipped`
          : `${source}: class index ${index} is negative; line skipped`,
      });
      continue;
    }
    const cls = classNames[index] ?? String(index);
    const c = nums.slice(1);
    if (c.length === 4 && task === "object_detection") {
      const [cx, cy, w, h] = c;
      rec.objects.push({
        classes: [cls],
        kind: "bbox",
        coordinates: [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2],
        relative: true,
        source,
      });
    } else if (c.length >= 6 && c.length % 2 === 0) {
      rec.objects.push({
        classes: [cls],
        kind: task === "object_detection" ? "bbox" : "polygon",
        coordinates: task === "object_detection" ? bboxOf(c) : c,
        relative: true,
        source,
      });
    } else {
      warnings.push({ fileName: labelFileName, message: `${source}: expected class and 4 numbers (or a polygon)` });
    }
  }
  return { format: "yolo", records: rec.objects.length ? [rec] : [], warnings };
}

function bboxOf(c: number[]): number[] {
  const xs = c.filter((_, i) => i % 2 === 0);
  const ys = c.filter((_, i) => i % 2 === 1);
  return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
}
