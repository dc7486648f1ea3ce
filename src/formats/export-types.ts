/**
 * What every exporter (src/formats/export-*.ts) reads: pages of images with their annotations in one set, in image
 * id order, as the service pages them out of D1. Exporters are pure: pages in, bytes out, no bindings.
 */
import { hasArea } from "../lib/object-bounds";
import type { TaskType } from "../lib/task";

export interface ExportObject {
  id: number;
  kind: "bbox" | "polygon";
  /** bbox: [xmin, ymin, xmax, ymax]; polygon: [x1, y1, x2, y2, ...], pixels. */
  coordinates: number[];
  classes: string[];
}

export interface ExportImage {
  id: number;
  /** `original_name`: the base file name. */
  fileName: string;
  /** The R2 key of a linked image (what `full_path=true` writes), else null. */
  linkedPath: string | null;
  width: number;
  height: number;
  tags: string[];
  /** Image-level (classification) classes. */
  classes: string[];
  objects: ExportObject[];
}

export type ExportPages = AsyncIterable<ExportImage[]>;

export type Coordinates = "pixel" | "percent";

export interface ExportOptions {
  task: TaskType;
  coordinates: Coordinates;
  fullPath: boolean;
}

/** The name an image is exported under (remo-reference §5: full path only for linked images). */
export function exportedName(img: ExportImage, fullPath: boolean): string {
  return fullPath && img.linkedPath ? img.linkedPath : img.fileName;
}

/**
 * The objects an exporter writes: those with an area. A zero-area box (left by an older import or save, which now
 * refuse them) would be COCO `area: 0` or YOLO `h=0`, which trainers reject; every exporter goes through here.
 */
export function drawableObjects(img: ExportImage): ExportObject[] {
  return img.objects.every((o) => hasArea(o.kind, o.coordinates))
    ? img.objects
    : img.objects.filter((o) => hasArea(o.kind, o.coordinates));
}

/** Remo's has_annotation as exporters see it: a drawable object or an image-level class. */
export function isAnnotated(img: ExportImage): boolean {
  return img.classes.length > 0 || drawableObjects(img).length > 0;
}
