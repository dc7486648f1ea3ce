import OpenSeadragon from "openseadragon";

/** A point in image pixels (origin top-left, x right, y down), as the API stores coordinates. */
export interface ImagePoint {
  x: number;
  y: number;
}

/**
 * One object to draw: 2 points are a box (its two corners, any order), 3 or more a polygon, fewer nothing (an
 * image-level class has no geometry). `label` is shown at the shape's top-left corner in `color`; `attrs` become
 * `data-*` attributes on the shape (the page and its tests find shapes by set and class through them).
 */
export interface OverlayShape {
  points: ImagePoint[];
  color: string;
  label: string;
  attrs?: Record<string, string>;
}

const SVG_NS = "http://www.w3.org/2000/svg";

/** Label height in CSS pixels (see .ov-label in styles/image.css); a label that would leave the top goes inside. */
const LABEL_HEIGHT = 18;

/** Past this many labels they are not moved apart (the check is quadratic, run on every frame). */
const MAX_STACKED = 300;

/**
 * Draws annotation shapes over an OpenSeadragon viewer, in image pixels, kept aligned while the user zooms and pans.
 *
 * Shapes are one SVG layer over the viewer's canvas whose `<g>` carries a single transform (scale and translation
 * from image pixels to the viewer element's CSS pixels), recomputed from the tiled image on every frame OSD draws
 * (`update-viewport`) and on resize; strokes keep their width at any zoom (`vector-effect: non-scaling-stroke`).
 * Labels are HTML (so their boxes fit their text) in a second layer, moved to their anchors on the same frames and
 * never scaled. Both layers ignore the pointer, so dragging and wheel zoom reach the viewer underneath.
 *
 * Assumes the image is world item 0, unrotated and unflipped (the image page enables neither).
 */
export class ImageOverlay {
  readonly svg: SVGSVGElement;
  readonly labels: HTMLDivElement;
  private readonly group: SVGGElement;
  private anchors: { el: HTMLElement; x: number; y: number; width: number }[] = [];
  private readonly redraw = () => this.draw();

  constructor(private readonly viewer: OpenSeadragon.Viewer) {
    this.svg = document.createElementNS(SVG_NS, "svg");
    this.svg.setAttribute("class", "ov-svg");
    this.svg.setAttribute("data-testid", "overlay");
    this.group = document.createElementNS(SVG_NS, "g");
    this.svg.appendChild(this.group);
    this.labels = document.createElement("div");
    this.labels.className = "ov-labels";
    viewer.canvas.appendChild(this.svg);
    viewer.canvas.appendChild(this.labels);
    viewer.addHandler("update-viewport", this.redraw);
    viewer.addHandler("resize", this.redraw);
    viewer.addHandler("open", this.redraw);
    this.draw();
  }

  /** Replaces every drawn shape (and its label) with `shapes`; hidden objects are simply left out by the caller. */
  setShapes(shapes: OverlayShape[]) {
    this.group.replaceChildren();
    this.labels.replaceChildren();
    this.anchors = [];
    for (const s of shapes) {
      if (s.points.length < 2) continue;
      const el = shapeElement(s.points);
      el.setAttribute("class", "ov-shape");
      el.setAttribute("data-testid", "overlay-shape");
      el.setAttribute("stroke", s.color);
      el.setAttribute("fill", s.color);
      for (const [k, v] of Object.entries(s.attrs ?? {})) el.setAttribute(`data-${k}`, v);
      this.group.appendChild(el);

      const label = document.createElement("span");
      label.className = "ov-label";
      label.dataset.testid = "overlay-label";
      label.textContent = s.label;
      label.style.background = s.color;
      this.labels.appendChild(label);
      const x = Math.min(...s.points.map((p) => p.x));
      const y = Math.min(...s.points.map((p) => p.y));
      this.anchors.push({ el: label, x, y, width: 0 });
    }
    // Label widths are read once (one layout), so stacking labels on each frame costs no layout.
    for (const a of this.anchors) a.width = a.el.offsetWidth;
    this.draw();
  }

  /** Stops following the viewer and removes both layers. */
  destroy() {
    this.viewer.removeHandler("update-viewport", this.redraw);
    this.viewer.removeHandler("resize", this.redraw);
    this.viewer.removeHandler("open", this.redraw);
    this.svg.remove();
    this.labels.remove();
  }

  /** Image pixels → viewer-element CSS pixels as `screen = image * scale + offset`, from the image's current bounds. */
  private transform(): { scale: number; ox: number; oy: number } | null {
    const item = this.viewer.world.getItemAt(0);
    if (!item) return null;
    const w = item.source.dimensions.x;
    const o = item.imageToViewerElementCoordinates(new OpenSeadragon.Point(0, 0));
    const e = item.imageToViewerElementCoordinates(new OpenSeadragon.Point(w, 0));
    const scale = (e.x - o.x) / w;
    return Number.isFinite(scale) && scale > 0 ? { scale, ox: o.x, oy: o.y } : null;
  }

  private draw() {
    const t = this.transform();
    this.svg.style.visibility = this.labels.style.visibility = t ? "visible" : "hidden";
    if (!t) return;
    this.group.setAttribute("transform", `matrix(${t.scale} 0 0 ${t.scale} ${t.ox} ${t.oy})`);
    const placed: { x: number; top: number; width: number }[] = [];
    const stack = this.anchors.length <= MAX_STACKED;
    for (const a of this.anchors) {
      const x = a.x * t.scale + t.ox;
      const y = a.y * t.scale + t.oy;
      // Above the shape's top-left corner, or just inside it when that would leave the viewer; a label that would
      // cover one already placed (two objects with nearly the same corner) moves down a line, up to 4 lines.
      let top = y < LABEL_HEIGHT ? y : y - LABEL_HEIGHT;
      if (stack) {
        const hits = (p: (typeof placed)[number]) =>
          Math.abs(p.top - top) < LABEL_HEIGHT && p.x < x + a.width && x < p.x + p.width;
        for (let i = 0; i < 4 && placed.some(hits); i++) top += LABEL_HEIGHT;
        placed.push({ x, top, width: a.width });
      }
      a.el.style.transform = `translate(${x.toFixed(1)}px, ${top.toFixed(1)}px)`;
    }
  }
}

/** A `<rect>` for 2 points (corners in any order), a `<polygon>` for more. */
function shapeElement(points: ImagePoint[]): SVGElement {
  if (points.length === 2) {
    const [a, b] = points;
    const rect = document.createElementNS(SVG_NS, "rect");
    rect.setAttribute("x", String(Math.min(a.x, b.x)));
    rect.setAttribute("y", String(Math.min(a.y, b.y)));
    rect.setAttribute("width", String(Math.abs(b.x - a.x)));
    rect.setAttribute("height", String(Math.abs(b.y - a.y)));
    return rect;
  }
  const poly = document.createElementNS(SVG_NS, "polygon");
  poly.setAttribute("points", points.map((p) => `${p.x},${p.y}`).join(" "));
  return poly;
}
