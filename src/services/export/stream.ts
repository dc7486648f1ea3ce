import { exportCoco } from "../../formats/export-coco";
import { exportCsv } from "../../formats/export-csv";
import { exportRemoJson } from "../../formats/export-json";
import { exportTagsCsv } from "../../formats/export-tags";
import { encodeChunks } from "../../formats/export-text";
import type { ExportOptions } from "../../formats/export-types";
import { vocEntries } from "../../formats/export-voc";
import { yoloEntries } from "../../formats/export-yolo";
import { zipStream, type ZipEntry } from "../../formats/zip-writer";
import { ApiError } from "../../lib/errors";
import { log } from "../../lib/log";
import { parseTask, taskName, type TaskType } from "../../lib/task";
import { readableSet } from "../annotations/sets";
import type { ServiceCtx } from "../context";
import { exporterExists, type ExportParams } from "./params";
import { exportPages, maxImageId, resolveTagIds, type ExportScope, type PageOptions } from "./pages";

export interface ExportSet {
  id: number;
  name: string;
  task: TaskType;
  datasetId: number;
  ownerId: number;
}

/** Everything an export needs besides the data: resolved once by the route or the job, then streamed. */
export interface ExportPlan {
  set: ExportSet;
  classNames: string[];
  scope: ExportScope;
  params: ExportParams;
}

/** What an export needs of a set row and its dataset's owner (for the request and for the queued job alike). */
export function toExportSet(
  set: { id: number; name: string; task: string; datasetId: number },
  ownerId: number,
): ExportSet {
  return {
    id: set.id,
    name: set.name,
    task: parseTask(set.task) ?? "object_detection",
    datasetId: set.datasetId,
    ownerId,
  };
}

/** The set, if the caller may read it (another user's private set is a 404, like a missing one). */
export async function readableExportSet(ctx: ServiceCtx, setId: number): Promise<ExportSet> {
  const { set, dataset } = await readableSet(ctx, setId);
  return toExportSet(set, dataset.ownerId);
}

/** The set's class list, in the set's order: COCO categories and YOLO indices come from it, not from the data. */
export async function setClassNames(d1: D1Database, setId: number): Promise<string[]> {
  const r = await d1
    .prepare(
      "SELECT c.name FROM annotation_set_classes sc JOIN classes c ON c.id = sc.class_id WHERE sc.set_id = ?1 ORDER BY sc.position, c.id",
    )
    .bind(setId)
    .all<{ name: string }>();
  return r.results.map((c) => c.name);
}

export async function planExport(d1: D1Database, set: ExportSet, params: ExportParams): Promise<ExportPlan> {
  if (!exporterExists(set.task, params.format)) {
    throw new ApiError(
      "NOT_FOUND",
      `Exporter for ${taskName(set.task)} task in format ${params.format} not implemented`,
    );
  }
  const [classNames, tagIds, maxId] = await Promise.all([
    setClassNames(d1, set.id),
    resolveTagIds(d1, params.filterByTags),
    maxImageId(d1, set.datasetId),
  ]);
  return {
    set,
    classNames,
    scope: {
      datasetId: set.datasetId,
      setId: set.id,
      withoutAnnotations: params.withoutAnnotations,
      tagIds,
      maxImageId: maxId,
    },
    params,
  };
}

/** How many passes over the images the export makes (for job progress): COCO reads twice, tags.csv once more. */
export function exportPasses(params: ExportParams): number {
  return (params.format === "coco" ? 2 : 1) + (params.exportTags ? 1 : 0);
}

export interface ExportFile {
  body: AsyncIterable<Uint8Array>;
  fileName: string;
  contentType: string;
  /** Remo's header: `filename="<set>.<ext>"` for a single file, `attachment; filename="annotations.zip"` with tags. */
  disposition: string;
}

const safeEntryName = (s: string) => s.replace(/[/\\]/g, "_") || "annotations";

export function contentDisposition(fileName: string, attachment: boolean): string {
  const ascii = fileName.replace(/[^ -~]/g, "_").replace(/["\\]/g, "_");
  const star = ascii === fileName ? "" : `; filename*=UTF-8''${encodeURIComponent(fileName)}`;
  return `${attachment ? "attachment; " : ""}filename="${ascii}"${star}`;
}

/** The export as a byte stream: D1 is paged as the consumer pulls, so memory is bounded by a page. */
export function exportFile(d1: D1Database, plan: ExportPlan, onPage?: PageOptions["onPage"]): ExportFile {
  const { params, set, scope, classNames } = plan;
  const opts: ExportOptions = { task: set.task, coordinates: params.coordinates, fullPath: params.fullPath };
  const pages = (o: PageOptions = {}) => exportPages(d1, scope, { ...o, onPage });
  const tagsEntry = (): ZipEntry => ({
    name: "tags.csv",
    data: encodeChunks(exportTagsCsv(pages({ tagsOnly: true }))),
  });

  if (params.format === "yolo" || params.format === "voc") {
    const format = params.format;
    const entries = async function* () {
      if (format === "yolo") yield* yoloEntries(pages(), classNames, opts);
      else yield* vocEntries(pages(), opts);
      if (params.exportTags) yield tagsEntry();
    };
    const fileName = params.exportTags ? "annotations.zip" : `${safeEntryName(set.name)}_${format}.zip`;
    return {
      body: zipStream(entries()),
      fileName,
      contentType: "application/zip",
      disposition: contentDisposition(fileName, true),
    };
  }

  const ext = params.format === "csv" ? "csv" : "json";
  const text =
    params.format === "json"
      ? exportRemoJson(pages(), opts)
      : params.format === "csv"
        ? exportCsv(pages(), opts)
        : exportCoco((pass) => pages({ annotations: pass === "annotations" }), classNames, opts);
  const single = `${set.name}.${ext}`;
  if (!params.exportTags) {
    return {
      body: encodeChunks(text),
      fileName: single,
      contentType: ext === "csv" ? "text/csv" : "application/json",
      disposition: contentDisposition(single, false),
    };
  }
  const entries = async function* (): AsyncGenerator<ZipEntry> {
    yield { name: safeEntryName(single), data: encodeChunks(text) };
    yield tagsEntry();
  };
  return {
    body: zipStream(entries()),
    fileName: "annotations.zip",
    contentType: "application/zip",
    disposition: contentDisposition("annotations.zip", true),
  };
}

/**
 * A pull-driven stream: the next chunk (and so the next D1 page) is produced only when the client has taken the
 * previous one, so a slow reader holds the export back instead of the Worker buffering it. The first chunk is
 * produced before the response starts, so a failure on the first page is still an error status, not a 200 with
 * a truncated body.
 */
export async function toReadableStream(body: AsyncIterable<Uint8Array>): Promise<ReadableStream<Uint8Array>> {
  const it = body[Symbol.asyncIterator]();
  let first: IteratorResult<Uint8Array> | null = await it.next();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const r = first ?? (await it.next());
          first = null;
          if (r.done) controller.close();
          else controller.enqueue(r.value);
        } catch (e) {
          log("error", "export", "export stream failed", { error: String((e as Error)?.stack ?? e) });
          controller.error(e);
        }
      },
      async cancel() {
        await it.return?.();
      },
    },
    { highWaterMark: 0 },
  );
}
