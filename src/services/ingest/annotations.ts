import { sql } from "drizzle-orm";
import { createDb } from "../../db/client";
import type { Env } from "../../env";
import { runBatch } from "../../lib/d1";
import { baseName, MAX_NAME_LENGTH } from "../../lib/names";
import { parseTask, taskName, type TaskType } from "../../lib/task";
import { classIdKind, decodeClassId } from "../../formats/class-encodings";
import { CocoRefused } from "../../formats/import-coco";
import { streamCoco } from "../../formats/import-coco-stream";
import { JsonLimitError } from "../../formats/json-stream";
import { parsePlainCsv } from "../../formats/import-csv";
import { parsePolygonCsv } from "../../formats/import-csv-polygons";
import { parseOpenImages } from "../../formats/import-open-images";
import { isTagsCsv, parseTagsCsv } from "../../formats/import-tags";
import { parseVoc, XmlRefused } from "../../formats/import-voc";
import { parseYoloClasses, parseYoloLabels } from "../../formats/import-yolo";
import type { ImportRecord, ParsedAnnotationFile } from "../../formats/types";
import { applyImport, newImportMemo } from "../annotations/import";
import { MAX_CLASS_LIST, orderSetClassesStatements } from "../annotations/sets";
import { eventStatement, fileErrorStatements, finishTask } from "./progress";
import { loadItem } from "./item";
import { loadSession } from "./upload-sessions";
import { userKeyProblem } from "../../storage/blobs";
import { isAbsolutePath, localFilesService, readLocalText } from "../../storage/local-files";

const MAX_ENCODING_FILE = 4 * 1024 * 1024;

/** CSV, VOC XML, YOLO and tag files are parsed whole: the text plus its parsed form must fit in 128 MB. */
export const MAX_ANNOTATION_FILE = 32 * 1024 * 1024;
/**
 * COCO JSON is streamed (src/formats/import-coco-stream.ts: two passes over the R2 object, records applied every
 * 20,000 annotations), so memory no longer grows with the file: COCO train2017 instances (~450 MB) fits. The
 * bound is time: each pass reads the whole object, and the consumer's CPU limit (wrangler.toml) must cover both.
 */
export const MAX_COCO_FILE = 1024 * 1024 * 1024;
/** File names without an image listed in the upload's report; a streamed file keeps no more than these. */
const MAX_MISSING_REPORTED = 100;

class NotRecognised extends Error {}
/** A file refused whole, its message the per-file error. */
class FileRefused extends Error {}

/** Remo's class encodings (§4.7): a custom `{label: class}` map (or `label,class` rows) renames classes. */
export function classEncoder(raw: string | null, localFile?: string): ((label: string) => string | null) | null {
  if (!raw) return null;
  let enc: { type?: string; classes?: Record<string, string>; raw_content?: string[] | string; local_path?: string };
  try {
    enc = JSON.parse(raw);
  } catch {
    return null;
  }
  if (String(enc.type).toLowerCase() !== "custom") return null;
  const map = new Map<string, string>(Object.entries(enc.classes ?? {}));
  const rows = Array.isArray(enc.raw_content)
    ? enc.raw_content
    : typeof enc.raw_content === "string"
      ? enc.raw_content.split("\n")
      : (localFile?.split("\n") ?? []);
  for (const row of rows) {
    const [label, cls] = row.split(",").map((s) => s.trim());
    if (label && cls) map.set(label, cls);
  }
  if (!map.size) return null;
  return (label) => map.get(label) ?? null;
}

/**
 * `{"type": "custom", "local_path": p}` (the SDK sends it when class_encoding is a file): a file on the user's disk
 * under `npm start`, as local_files are; deployed there is no disk, so the path is a key in the bucket.
 */
async function encodingFile(env: Env, raw: string | null): Promise<string | undefined> {
  let path: unknown;
  try {
    path = raw ? (JSON.parse(raw) as { local_path?: unknown }).local_path : undefined;
  } catch {
    return undefined;
  }
  if (typeof path !== "string" || !path) return undefined;
  const disk = localFilesService(env);
  if (disk && isAbsolutePath(path)) return readLocalText(disk, path, MAX_ENCODING_FILE);
  if (userKeyProblem(path)) return undefined;
  const obj = await env.BUCKET.get(path.replace(/^\/+/, ""));
  if (!obj) return undefined;
  if (obj.size > MAX_ENCODING_FILE) {
    await obj.body.cancel();
    return undefined;
  }
  return obj.text();
}

/** A YOLO class list file is read by every label file of its session: it must be small. */
export const MAX_CLASS_FILE = 4 * 1024 * 1024;
const CLASS_FILE_NAMES = ["classes.txt", "data.yaml", "data.yml"];

/**
 * The session's YOLO class list file, so every label file agrees: the first item whose base name (at any folder
 * depth, any case) is exactly `classes.txt`, else the first `data.yaml` / `data.yml` (`myclasses.txt` and
 * `metadata.yaml` are not class lists).
 */
async function yoloClassesItem(env: Env, sid: string) {
  const base = (n: string) => `(lower(name) = '${n}' OR substr(lower(name), -${n.length + 1}) IN ('/${n}', '\\${n}'))`;
  return env.DB.prepare(
    `SELECT id, r2_key, name FROM upload_items WHERE session_id = ? AND (${CLASS_FILE_NAMES.map(base).join(" OR ")})
     ORDER BY ${base("classes.txt")} DESC, id LIMIT 1`,
  )
    .bind(sid)
    .first<{ id: number; r2_key: string | null; name: string }>();
}

/**
 * One whole (not streamed) annotation file by its name and text. YOLO: the session's class list file carries
 * `classList` (the set's class order); a label `.txt` is recognised by a `class x y ...` line, or by being empty
 * or whitespace-only (a background image). Null when no importer recognises the file for the task.
 */
async function parseFile(
  env: Env,
  sid: string,
  itemId: number,
  name: string,
  text: string,
  task: TaskType,
): Promise<ParsedAnnotationFile | null> {
  const lower = name.toLowerCase();
  if (lower.endsWith(".xml")) return parseVoc(text, task);
  if (/\.ya?ml$/.test(lower) || baseName(lower) === "classes.txt") {
    const chosen = await yoloClassesItem(env, sid);
    const classList = chosen?.id === itemId ? parseYoloClasses(name, text) : undefined;
    // Bounded: the list is bound into D1 and ordered in one batch, which must fit the queue consumer's limits.
    if (classList && classList.length > MAX_CLASS_LIST)
      throw new FileRefused(
        `${baseName(name)} lists ${classList.length} classes: the limit is ${MAX_CLASS_LIST.toLocaleString("en-US")}`,
      );
    return { format: "yolo", records: [], warnings: [], ...(classList?.length ? { classList } : {}) };
  }
  const emptyLabels = lower.endsWith(".txt") && !text.trim();
  if (emptyLabels) return parseYoloLabels(name, text, [], task);
  if (lower.endsWith(".txt") && /^\s*\d+(\s+[-\d.eE+]+){4,}\s*$/m.test(text.slice(0, 2000))) {
    const classesItem = await yoloClassesItem(env, sid);
    const obj = classesItem?.r2_key ? await env.BUCKET.get(classesItem.r2_key) : null;
    if (obj && obj.size > MAX_CLASS_FILE) {
      await obj.body.cancel();
      throw new FileRefused(
        `${baseName(name)}: its class list ${baseName(classesItem!.name)} is larger than ${MAX_CLASS_FILE} bytes (4 MiB); labels not imported`,
      );
    }
    const classes = obj ? parseYoloClasses(classesItem!.name, await obj.text()) : [];
    return parseYoloLabels(name, text, classes, task, classesItem ? baseName(classesItem.name) : undefined);
  }
  if (isTagsCsv(text)) return parseTagsCsv(text);
  return parseOpenImages(text, task) ?? parsePolygonCsv(text, task) ?? parsePlainCsv(text, task);
}

/** One annotation file, after every image of the session is in: parse, encode classes, merge into the set. */
export async function ingestAnnotations(env: Env, msg: { sessionId: string; itemId: number }): Promise<void> {
  const sid = msg.sessionId;
  const taskKey = `ann:${msg.itemId}`;
  const db = createDb(env.DB);
  const [s, item] = await Promise.all([loadSession(db, sid), loadItem(env, msg.itemId)]);
  if (!s || s.status !== "in progress") return;
  if (!item || item.status !== "deferred" || !item.r2_key) return finishTask(env, sid, taskKey);
  const name = baseName(item.name);
  const setRow = s.annotation_set_id
    ? await env.DB.prepare("SELECT id, task FROM annotation_sets WHERE id = ?")
        .bind(s.annotation_set_id)
        .first<{ id: number; task: string }>()
    : null;
  const task = (setRow?.task as TaskType | undefined) ?? parseTask(s.annotation_task);
  const fail = async (message: string) => {
    await runBatch(env.DB, [
      ...fileErrorStatements(sid, "annotations", name, message, `annfail:${item.id}`),
      sql`UPDATE upload_items SET status = 'failed' WHERE id = ${item.id}`,
    ]);
    return finishTask(env, sid, taskKey);
  };
  if (!setRow || !task) return fail("no annotation set for this upload");

  const key = item.r2_key;
  const obj = await env.BUCKET.get(key);
  if (!obj) return fail("file is gone from staging");
  const isJson = name.toLowerCase().endsWith(".json");
  const cap = isJson ? MAX_COCO_FILE : MAX_ANNOTATION_FILE;
  if (obj.size > cap) {
    await obj.body.cancel();
    return fail(`annotation file larger than ${cap} bytes`);
  }
  if (CLASS_FILE_NAMES.includes(name.toLowerCase()) && obj.size > MAX_CLASS_FILE) {
    await obj.body.cancel();
    return fail(`class list ${name} is larger than ${MAX_CLASS_FILE} bytes (4 MiB)`);
  }

  // Records are applied as they come (once for a whole-file format, per batch for a streamed COCO file): what the
  // report needs is gathered across batches, bounded.
  const encode = classEncoder(s.class_encoding, await encodingFile(env, s.class_encoding));
  const unknownLabels = new Set<string>();
  const unknownIds = new Set<string>();
  const missing = new Set<string>();
  let anyMissing = false;
  // Objects skipped for having no area, and COCO names found only by their base name: bounded across batches.
  const skipped: string[] = [];
  let skippedCount = 0;
  const baseNameMatches: { fileName: string; imageName: string }[] = [];
  let baseNameMatchCount = 0;
  // Every importer's class names (never tags) pass here: a custom encoding first, then the built-in tables.
  const decoded = new Map<string, string | null>();
  const decodeLabel = (l: string): string | null => {
    const custom = encode?.(l) ?? null;
    if (custom !== null) return fitsName(custom);
    const name = decodeClassId(l);
    if (name !== null) return name;
    if (encode) {
      unknownLabels.add(l);
      return null;
    }
    if (classIdKind(l.trim())) unknownIds.add(l.trim());
    return fitsName(l);
  };
  // The API refuses class names over MAX_NAME_LENGTH; an import skips them (bounded report).
  const tooLong = new Set<string>();
  const fitsName = (c: string): string | null => {
    if (c.trim().length <= MAX_NAME_LENGTH) return c;
    if (tooLong.size < 20) tooLong.add(`${c.trim().slice(0, 40)}… (${c.trim().length} characters)`);
    return null;
  };
  // A streamed file's batches touch the same images again: what one batch wrote, the next need not read back.
  const memo = newImportMemo();
  const apply = async (records: ImportRecord[]) => {
    const map = (labels: string[]) =>
      labels.flatMap((l) => {
        let c = decoded.get(l);
        if (c === undefined) {
          c = decodeLabel(l);
          // Bounded: a file's distinct labels are usually few, but a CSV can name a class per row.
          if (decoded.size < 10_000) decoded.set(l, c);
        }
        return c === null ? [] : [c];
      });
    for (const r of records) {
      r.classes = map(r.classes);
      for (const o of r.objects) o.classes = map(o.classes);
    }
    const result = await applyImport(
      db,
      { datasetId: s.dataset_id, setId: setRow.id, task, skipNewClasses: !!s.skip_new_classes, memo },
      records,
    );
    skippedCount += result.skippedCount;
    skipped.push(...result.skipped.slice(0, Math.max(0, 50 - skipped.length)));
    baseNameMatchCount += result.baseNameMatchCount;
    baseNameMatches.push(...result.baseNameMatches.slice(0, Math.max(0, 5 - baseNameMatches.length)));
    for (const m of result.missing) {
      anyMissing = true;
      if (missing.size < MAX_MISSING_REPORTED) missing.add(m);
    }
  };

  let parsed: Pick<ParsedAnnotationFile, "format" | "warnings"> & { records: number };
  let wholeFile: ParsedAnnotationFile | null = null;
  try {
    if (isJson) {
      let body: ReadableStream<Uint8Array> | null = obj.body;
      const open = async () => {
        const first = body;
        body = null;
        if (first) return first;
        const again = await env.BUCKET.get(key);
        if (!again) throw new Error(`object ${key} is gone`);
        return again.body;
      };
      const streamed = await streamCoco(open, task, apply).finally(() => body?.cancel().catch(() => {}));
      if (!streamed) throw new NotRecognised();
      parsed = streamed;
    } else {
      wholeFile = await parseFile(env, sid, item.id, item.name, await obj.text(), task);
      if (!wholeFile) throw new NotRecognised();
      parsed = { ...wholeFile, records: wholeFile.records.length };
    }
  } catch (e) {
    if (e instanceof NotRecognised)
      return fail(
        `Annotation format for ${taskName(task)} not recognised for file '${name}'. Please check the documentation to see supported formats.`,
      );
    if (e instanceof XmlRefused || e instanceof CocoRefused || e instanceof JsonLimitError)
      return fail(`${name}: ${e.message}`);
    if (e instanceof FileRefused) return fail(e.message);
    throw e;
  }

  // A streamed file with no usable record has written nothing either: no batch was handed on. A file that listed
  // nothing at all (no record and nothing wrong: COCO `annotations: []`, a CSV header alone) is valid, not a failure.
  if (!parsed.records && parsed.warnings.length && parsed.format !== "tags" && parsed.format !== "yolo")
    return fail(
      `Annotation file '${name}' has no usable annotation${parsed.warnings.length ? `: ${parsed.warnings.map((w) => w.message).join("; ")}` : ""}`,
    );
  if (wholeFile?.classList)
    // The list's names go through the same decoding as the label files' classes, or the set gets both forms.
    await runBatch(
      env.DB,
      orderSetClassesStatements(
        setRow.id,
        wholeFile.classList.flatMap((l) => decodeLabel(l) ?? []),
        !s.skip_new_classes,
      ),
    );
  if (wholeFile) await apply(wholeFile.records);

  const tagsOnly = parsed.format === "tags";
  // Per-row problems are listed under the file; the file itself counts once, as failed if any of them is an error.
  const annError = (message: string, key: string) =>
    eventStatement(sid, { scope: "annotations", level: "error", filename: name, message, key });
  const failed = unknownLabels.size > 0 || (!tagsOnly && anyMissing);
  // The file's report and its done/counters in one batch: up to 200 events were 200 round trips, and a crash
  // between them left a file reported but not counted (a retry's events are deduplicated by key).
  const events = [
    ...[...unknownLabels]
      .slice(0, 50)
      .map((l) => annError(`Label ${l} not found in decoding list`, `label:${item.id}:${l}`)),
    ...[...missing].map((m) =>
      tagsOnly
        ? eventStatement(sid, {
            scope: "annotations",
            level: "warning",
            filename: name,
            message: `Tags for '${m}', which can't be found in the dataset.`,
            key: `miss:${item.id}:${m}`,
          })
        : annError(
            `Annotations without matching image. Annotation file '${name}' has annotations for '${m}', which can't be found in the dataset.`,
            `miss:${item.id}:${m}`,
          ),
    ),
    ...[...tooLong].map((c, i) =>
      eventStatement(sid, {
        scope: "annotations",
        level: "warning",
        filename: name,
        message: `Class name ${c} is longer than ${MAX_NAME_LENGTH} characters: left out`,
        key: `long:${item.id}:${i}`,
      }),
    ),
    // Keyed by the id alone: the session names an unknown id once, whichever files carry it.
    ...[...unknownIds].slice(0, 50).map((id) =>
      eventStatement(sid, {
        scope: "annotations",
        level: "warning",
        filename: name,
        message: `Class ${id} is not in the ${classIdKind(id)} table: kept as it is`,
        key: `classid:${id}`,
      }),
    ),
    ...skipped.map((message, i) =>
      eventStatement(sid, {
        scope: "annotations",
        level: "warning",
        filename: name,
        message,
        key: `skip:${item.id}:${i}`,
      }),
    ),
    ...(skippedCount > skipped.length
      ? [
          eventStatement(sid, {
            scope: "annotations",
            level: "warning",
            filename: name,
            message: `${skippedCount - skipped.length} more object(s) with no area in their image skipped`,
            key: `skip:${item.id}:more`,
          }),
        ]
      : []),
    ...(baseNameMatchCount
      ? [
          eventStatement(sid, {
            scope: "annotations",
            level: "warning",
            filename: name,
            message:
              `${baseNameMatchCount} file_name(s) matched no image exactly and were matched by base name: ` +
              baseNameMatches.map((m) => `'${m.fileName}' → '${m.imageName}'`).join(", ") +
              (baseNameMatchCount > baseNameMatches.length ? ", ..." : ""),
            key: `basename:${item.id}`,
          }),
        ]
      : []),
    ...parsed.warnings.slice(0, 50).map((w, i) =>
      eventStatement(sid, {
        scope: "annotations",
        level: "warning",
        filename: name,
        message: w.message,
        key: `warn:${item.id}:${i}`,
      }),
    ),
  ];
  await runBatch(env.DB, [
    ...events,
    sql`UPDATE upload_items SET status = 'done' WHERE id = ${item.id} AND status = 'deferred'`,
    sql`UPDATE upload_sessions SET annotations_total = annotations_total + 1,
      ${sql.raw(failed ? "annotations_failed = annotations_failed + 1" : "annotations_successful = annotations_successful + 1")}
      WHERE id = ${sid} AND changes() = 1`,
  ]);
  await finishTask(env, sid, taskKey);
}
