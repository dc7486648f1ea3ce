/**
 * One rule for "does this object have an area inside its image", shared by the importers' writer
 * (services/annotations/import.ts), the object-writing API (services/annotations/save.ts) and the exporters
 * (formats/export-types.ts), so a box is refused, skipped or left out for the same reason everywhere (issue 10:
 * a zero-area box stored silently then became COCO `area: 0` and YOLO `h=0`).
 */

/** [xmin, ymin, xmax, ymax] of a flat `[x1, y1, x2, y2, ...]` point list; all zeros when it has no point. */
export function pointsExtent(c: number[]): [number, number, number, number] {
  let xmin = Infinity,
    ymin = Infinity,
    xmax = -Infinity,
    ymax = -Infinity;
  for (let i = 0; i + 1 < c.length; i += 2) {
    if (c[i] < xmin) xmin = c[i];
    if (c[i] > xmax) xmax = c[i];
    if (c[i + 1] < ymin) ymin = c[i + 1];
    if (c[i + 1] > ymax) ymax = c[i + 1];
  }
  return xmin === Infinity ? [0, 0, 0, 0] : [xmin, ymin, xmax, ymax];
}

const n = (v: number) => String(Math.round(v * 1000) / 1000);

/**
 * Why an object whose extent is `[xmin, ymin, xmax, ymax]` (pixels, before clamping, any corner order) has no
 * area once clamped to the `width`×`height` image and truncated to ints as stored; null when it keeps one.
 * "Wholly outside" when a side lies past the image (e.g. x 150–180 on a 100-px-wide image), else "zero width" or
 * "zero height" (a line, a point, or a sliver thinner than a pixel). A box partly outside is not a problem: its
 * writer clamps it. The message names the numbers, for a 400 or an import warning.
 */
export function extentProblem(extent: number[], width: number, height: number): string | null {
  const [xmin, xmax] = extent[0] <= extent[2] ? [extent[0], extent[2]] : [extent[2], extent[0]];
  const [ymin, ymax] = extent[1] <= extent[3] ? [extent[1], extent[3]] : [extent[3], extent[1]];
  const size = `${width}x${height}`;
  if (xmin >= width || xmax <= 0) return `x ${n(xmin)}–${n(xmax)} lies wholly outside the ${size} image`;
  if (ymin >= height || ymax <= 0) return `y ${n(ymin)}–${n(ymax)} lies wholly outside the ${size} image`;
  const clamp = (v: number, hi: number) => Math.min(hi, Math.max(0, Math.trunc(v)));
  if (clamp(xmax, width) - clamp(xmin, width) <= 0) return `zero width (x ${n(xmin)}–${n(xmax)}) in the ${size} image`;
  if (clamp(ymax, height) - clamp(ymin, height) <= 0)
    return `zero height (y ${n(ymin)}–${n(ymax)}) in the ${size} image`;
  return null;
}

/** True when stored coordinates (a bbox `[xmin, ymin, xmax, ymax]` or a polygon's points) span a non-zero area. */
export function hasArea(kind: "bbox" | "polygon", coordinates: number[]): boolean {
  const [xmin, ymin, xmax, ymax] = kind === "bbox" ? coordinates : pointsExtent(coordinates);
  return Math.abs(xmax - xmin) > 0 && Math.abs(ymax - ymin) > 0;
}
