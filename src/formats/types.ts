/**
 * The shapes shared by annotation importers (src/formats/import-*.ts, pure parsers) and the service that writes
 * what they parse (src/services/annotations/import.ts). Importers never touch bindings.
 */

/** How a record's file name is matched to an image of the dataset (remo-reference §3). */
export type ImageMatch =
  /** base name (after the last / or \), then extension probing when the name has none (CSV, VOC, tags, YOLO) */
  | "basename"
  /**
   * exact `original_name` first, then the "basename" rule as a fallback (COCO `file_name`, which often carries
   * folders such as `train/img_001.jpg`); a fallback match is reported in the upload session.
   */
  | "exact";

export interface ImportedObject {
  /** Class names as written in the file (normalised by the writer: trimmed, Remo-capitalised). */
  classes: string[];
  kind: "bbox" | "polygon";
  /** bbox: [xmin, ymin, xmax, ymax]; polygon: [x1, y1, x2, y2, ...]. */
  coordinates: number[];
  /** True when the numbers are fractions of the image's width/height (scaled by the writer, which knows the size). */
  relative?: boolean;
  /** Where the object is in its file, for warnings: `line 3`, `object 2 (Tree)`, `annotation 17`. */
  source?: string;
}

/** Everything one file says about one image. */
export interface ImportRecord {
  fileName: string;
  match: ImageMatch;
  /** Detection / segmentation objects. */
  objects: ImportedObject[];
  /** Image-classification classes. */
  classes: string[];
  /** Tag names. */
  tags: string[];
  /**
   * The format says this image has no object (YOLO's empty label file: a background image), so its annotation
   * is marked done even with nothing in it. Other formats that merely list nothing leave the image untouched.
   */
  annotatedEmpty?: boolean;
}

export interface ImportWarning {
  fileName?: string;
  message: string;
}

/** What an importer returns for one annotation file. */
export interface ParsedAnnotationFile {
  format: "csv" | "voc" | "coco" | "open-images" | "tags" | "yolo";
  records: ImportRecord[];
  warnings: ImportWarning[];
  /**
   * An ordered class list the file declares (YOLO `classes.txt` / `data.yaml` `names`): it becomes the set's class
   * order, unused classes included, so YOLO class ids survive an export.
   */
  classList?: string[];
}
