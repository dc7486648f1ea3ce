/**
 * The annotation tool's data: objects in image pixel coordinates (the upright grid the API stores, README "Images"),
 * their conversion from and to Remo's annotation payloads, and the undo history. No DOM here.
 */

/** A box by its min/max corners, or a polygon by its vertices; image pixels, origin top-left. */
export type Shape =
  { kind: "bbox"; x1: number; y1: number; x2: number; y2: number } | { kind: "polygon"; points: [number, number][] };

/** One object of the image: a shape and its class names (Remo allows several; the tool edits them as a list). */
export interface Obj {
  /** Local id, stable while the page is open (the API renumbers positions on every save). */
  id: string;
  name: string;
  shape: Shape;
  classes: string[];
}

/** One entry of `annotation_info` as `GET /api/dataset/{ds}/annotation-set/{set}/image/{img}/annotation/` gives it. */
export interface RemoObjectInfo {
  name?: string;
  coordinates?: { x: number; y: number }[];
  classes?: { name: string }[];
}

let seq = 0;
/** A fresh local object id. */
export function newId(): string {
  return `o${++seq}`;
}

/**
 * Objects from Remo's `annotation_info`: 2 points are a bbox (min/max corners), 3 or more a polygon (the API's rule,
 * README "Rules": Coordinates). Entries without coordinates (image classes of classification sets) are left out.
 */
export function objectsFromRemo(info: RemoObjectInfo[]): Obj[] {
  const out: Obj[] = [];
  for (const o of info) {
    const c = o.coordinates;
    if (!Array.isArray(c) || c.length < 2) continue;
    const shape: Shape =
      c.length === 2
        ? {
            kind: "bbox",
            x1: Math.min(c[0].x, c[1].x),
            y1: Math.min(c[0].y, c[1].y),
            x2: Math.max(c[0].x, c[1].x),
            y2: Math.max(c[0].y, c[1].y),
          }
        : { kind: "polygon", points: c.map((p) => [p.x, p.y] as [number, number]) };
    out.push({ id: newId(), name: o.name ?? "", shape, classes: (o.classes ?? []).map((k) => k.name) });
  }
  return out;
}

const clamp = (v: number, max: number) => Math.min(Math.max(Math.round(v), 0), max);

/** The shape with every point rounded to whole pixels and kept inside a `w`×`h` image (the API truncates to ints). */
export function clampShape(s: Shape, w: number, h: number): Shape {
  if (s.kind === "bbox") {
    return {
      kind: "bbox",
      x1: clamp(Math.min(s.x1, s.x2), w),
      y1: clamp(Math.min(s.y1, s.y2), h),
      x2: clamp(Math.max(s.x1, s.x2), w),
      y2: clamp(Math.max(s.y1, s.y2), h),
    };
  }
  return { kind: "polygon", points: s.points.map(([x, y]) => [clamp(x, w), clamp(y, h)]) };
}

/** Whether a (clamped) shape has an area: the API refuses a zero-width or zero-height object with a 400. */
export function hasArea(s: Shape): boolean {
  if (s.kind === "bbox") return s.x2 > s.x1 && s.y2 > s.y1;
  if (s.points.length < 3) return false;
  const xs = s.points.map((p) => p[0]);
  const ys = s.points.map((p) => p[1]);
  return Math.max(...xs) > Math.min(...xs) && Math.max(...ys) > Math.min(...ys);
}

/**
 * The body of `PUT /api/v1/ui/annotation-sets/{set}/images/{img}/annotations/` (save-annotation's body,
 * src/schemas/annotations.ts): every object with its coordinates in Remo's format (a bbox as its two corners, a
 * polygon as its points with `kind: "polygon"`) and its classes. Points are clamped into the `w`×`h` image; objects
 * left without area are not sent and are counted in `dropped`. Saving replaces the image's objects in the set.
 */
export function saveBody(objects: Obj[], w: number, h: number): { body: { objects: unknown[] }; dropped: number } {
  const out: unknown[] = [];
  let dropped = 0;
  objects.forEach((o) => {
    const s = clampShape(o.shape, w, h);
    if (!hasArea(s)) {
      dropped++;
      return;
    }
    const coordinates =
      s.kind === "bbox"
        ? [
            { x: s.x1, y: s.y1 },
            { x: s.x2, y: s.y2 },
          ]
        : s.points.map(([x, y]) => ({ x, y }));
    out.push({
      name: o.name || `OBJ ${out.length + 1}`,
      ...(s.kind === "polygon" ? { kind: "polygon" } : {}),
      coordinates,
      classes: o.classes.map((name) => ({ name })),
    });
  });
  return { body: { objects: out }, dropped };
}

/** Moves a shape by (dx, dy) image pixels. */
export function moveShape(s: Shape, dx: number, dy: number): Shape {
  if (s.kind === "bbox") return { kind: "bbox", x1: s.x1 + dx, y1: s.y1 + dy, x2: s.x2 + dx, y2: s.y2 + dy };
  return { kind: "polygon", points: s.points.map(([x, y]) => [x + dx, y + dy]) };
}

/** The box around a shape, in image pixels. */
export function boundsOf(s: Shape): { x1: number; y1: number; x2: number; y2: number } {
  if (s.kind === "bbox") return { x1: s.x1, y1: s.y1, x2: s.x2, y2: s.y2 };
  const xs = s.points.map((p) => p[0]);
  const ys = s.points.map((p) => p[1]);
  return { x1: Math.min(...xs), y1: Math.min(...ys), x2: Math.max(...xs), y2: Math.max(...ys) };
}

/**
 * Undo/redo over whole snapshots of the object list (objects are small and replaced immutably, so a snapshot is an
 * array of references). `push` records the state before a change; a new change clears the redo side.
 */
export class History {
  private past: Obj[][] = [];
  private future: Obj[][] = [];

  constructor(private readonly limit = 200) {}

  push(before: Obj[]) {
    this.past.push(before);
    if (this.past.length > this.limit) this.past.shift();
    this.future = [];
  }

  /** The state to go back to (given the current one, kept for redo), or null when there is nothing to undo. */
  undo(current: Obj[]): Obj[] | null {
    const prev = this.past.pop();
    if (!prev) return null;
    this.future.push(current);
    return prev;
  }

  redo(current: Obj[]): Obj[] | null {
    const next = this.future.pop();
    if (!next) return null;
    this.past.push(current);
    return next;
  }

  get canUndo() {
    return this.past.length > 0;
  }

  get canRedo() {
    return this.future.length > 0;
  }
}
