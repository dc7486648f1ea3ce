import type { TaskType } from "../lib/task";
import { CocoRecordBuilder, CocoRefused } from "./import-coco";
import { JsonLimitError, JsonStreamError, scanJson, type JsonKind } from "./json-stream";
import type { ImportRecord, ParsedAnnotationFile } from "./types";

/**
 * Annotations turned into records before they are handed on: bounds what one batch holds (20,000 COCO boxes are
 * a few MB of records) while keeping the number of D1 round trips of a 860,000-annotation file small.
 */
export const COCO_ANNOTATIONS_PER_BATCH = 20_000;

/**
 * The first pass keeps every listed image's id and file name (~100 B each) and every category: bounded, so a file
 * listing millions of images is refused with a message instead of exhausting the isolate's 128 MB. COCO
 * train2017 lists 118,287 images.
 */
export const MAX_COCO_IMAGES = 500_000;
export const MAX_COCO_CATEGORIES = 100_000;

export interface StreamCocoResult {
  format: "coco";
  /** Records handed to `onRecords`, over all batches (an image split between batches counts once per batch). */
  records: number;
  warnings: ParsedAnnotationFile["warnings"];
}

/**
 * COCO JSON read as a stream, for files far past what JSON.parse of the whole text allows in a 128 MB isolate
 * (COCO train2017 instances is ~450 MB). Same reading as `parseCoco`, in two passes over the file, since COCO
 * writers usually put `categories` after `annotations`:
 *  1. `images` (id → file_name) and `categories` (id → name) are kept; every annotation is parsed, only to know
 *     the whole file is well-formed before anything is written;
 *  2. `annotations` become records, handed to `onRecords` every `batchSize` annotations and then dropped.
 * The caller's `onRecords` must be safe to repeat and to split an image over batches (applyImport merges by
 * coordinates), since a queue retry runs the whole file again.
 *
 * `open` is called once per pass. Null when the file is not COCO (malformed JSON included), as `parseCoco`;
 * throws CocoRefused for an empty category list or more images or categories than the bounds above, and
 * JsonLimitError past the scanner's bounds.
 */
export async function streamCoco(
  open: () => Promise<ReadableStream<Uint8Array>>,
  task: TaskType,
  onRecords: (records: ImportRecord[]) => Promise<void>,
  opts: { batchSize?: number; maxImages?: number } = {},
): Promise<StreamCocoResult | null> {
  const maxImages = opts.maxImages ?? MAX_COCO_IMAGES;
  if (task === "image_classification") return null;
  const categories = new Map<string, string>();
  let categoryCount = 0;
  const fileNames = new Map<string, string>();
  let keys: Map<string, JsonKind>;
  try {
    keys = await scanJson(await open(), {
      arrays: ["images", "categories", "annotations"],
      onElement(key, v) {
        if (key === "images") {
          const img = v as { id?: unknown; file_name?: unknown } | null;
          if (img && typeof img === "object" && img.file_name) {
            fileNames.set(String(img.id), String(img.file_name));
            if (fileNames.size > maxImages)
              throw new CocoRefused(`more than ${maxImages} images listed in one file: split it into several files`);
          }
        } else if (key === "categories") {
          if (++categoryCount > MAX_COCO_CATEGORIES)
            throw new CocoRefused(`more than ${MAX_COCO_CATEGORIES} categories listed in one file`);
          const c = v as { id?: unknown; name?: unknown } | null;
          if (c && typeof c === "object") categories.set(String(c.id), String(c.name ?? "none"));
        }
      },
    });
  } catch (e) {
    // Not JSON is "not COCO", as for parseCoco; a bound passed, or a failed read, is not.
    if (e instanceof JsonStreamError && !(e instanceof JsonLimitError)) return null;
    throw e;
  }
  if (keys.get("annotations") !== "array" || keys.get("images") !== "array" || keys.get("categories") !== "array")
    return null;
  if (!categoryCount) throw new CocoRefused("Empty list of categories");

  const builder = new CocoRecordBuilder(task, categories, fileNames);
  const batchSize = opts.batchSize ?? COCO_ANNOTATIONS_PER_BATCH;
  let handed = 0;
  const flush = async () => {
    const records = builder.take();
    handed += records.length;
    if (records.length) await onRecords(records);
  };
  await scanJson(await open(), {
    arrays: ["annotations"],
    onElement(_key, a) {
      builder.add(a as Parameters<CocoRecordBuilder["add"]>[0]);
      if (builder.pending >= batchSize) return flush();
    },
  });
  await flush();
  return { format: "coco", records: handed, warnings: builder.warnings() };
}
