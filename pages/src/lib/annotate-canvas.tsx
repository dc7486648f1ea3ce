import OpenSeadragon from "openseadragon";
import { createPortal } from "preact/compat";
import { useEffect, useRef, useState } from "preact/hooks";
import { boundsOf, moveShape, type Obj, type Shape } from "./annotate-model";
import { classColor } from "./colors";

/**
 * The drawing layer of the annotation tool: an SVG laid over an OpenSeadragon viewer's canvas, redrawn on every
 * viewport change, so shapes stay on the image at any zoom. Shapes are kept in image pixels; this layer converts with
 * the viewer's own image↔element transform. (Annotorious' OpenSeadragon plugin renders with PixiJS, which needs
 * `'unsafe-eval'`, annotorious/annotorious#514, and the pages' CSP allows no eval; this layer is plain SVG.)
 *
 * Tools: `select` (click a shape to select it; drag it to move; drag a handle to resize or move a vertex; drag the
 * empty image to pan), `bbox` (drag to draw a box), `polygon` (click to add vertices; click the first vertex, press
 * Enter or double-click to close; Backspace removes the last vertex, Escape cancels). The wheel zooms in every tool.
 */
export type Tool = "select" | "bbox" | "polygon";

export interface CanvasProps {
  viewer: OpenSeadragon.Viewer;
  objects: Obj[];
  selected: string | null;
  tool: Tool;
  readOnly: boolean;
  onSelect(id: string | null): void;
  /** A new shape was drawn (image pixels, not yet clamped). */
  onCreate(shape: Shape): void;
  /** A shape was moved or reshaped (called once, when the drag ends). */
  onReshape(id: string, shape: Shape): void;
}

interface View {
  ox: number;
  oy: number;
  s: number;
  w: number;
  h: number;
}

type Drag =
  | { kind: "draw"; from: [number, number]; to: [number, number] }
  | { kind: "move"; id: string; from: [number, number]; orig: Shape; shape: Shape }
  | { kind: "handle"; id: string; handle: number; orig: Shape; shape: Shape };

const MIN_DRAW_PX = 4;
const CLOSE_PX = 10;

function viewOf(viewer: OpenSeadragon.Viewer): View {
  const vp = viewer.viewport;
  const p0 = vp.imageToViewerElementCoordinates(new OpenSeadragon.Point(0, 0));
  const p1 = vp.imageToViewerElementCoordinates(new OpenSeadragon.Point(1000, 0));
  const size = viewer.container.getBoundingClientRect();
  return { ox: p0.x, oy: p0.y, s: (p1.x - p0.x) / 1000, w: size.width, h: size.height };
}

/** A colour for a class list: the first class's, or grey for an object without a class. */
export function objectColor(o: Obj): string {
  return o.classes.length ? classColor(o.classes[0]) : "hsl(0 0% 60%)";
}

/** Where the 8 handles of a box are (image pixels): corners 0-3 clockwise from top-left, then edge middles 4-7. */
function boxHandles(s: Extract<Shape, { kind: "bbox" }>): [number, number][] {
  const mx = (s.x1 + s.x2) / 2;
  const my = (s.y1 + s.y2) / 2;
  return [
    [s.x1, s.y1],
    [s.x2, s.y1],
    [s.x2, s.y2],
    [s.x1, s.y2],
    [mx, s.y1],
    [s.x2, my],
    [mx, s.y2],
    [s.x1, my],
  ];
}

/** The shape with handle `h` dragged to image point (x, y). */
function dragHandle(orig: Shape, h: number, x: number, y: number): Shape {
  if (orig.kind === "polygon") {
    const points = orig.points.slice();
    points[h] = [x, y];
    return { kind: "polygon", points };
  }
  const s = { ...orig };
  if (h === 0 || h === 3 || h === 7) s.x1 = x;
  if (h === 1 || h === 2 || h === 5) s.x2 = x;
  if (h === 0 || h === 1 || h === 4) s.y1 = y;
  if (h === 2 || h === 3 || h === 6) s.y2 = y;
  return s;
}

export function AnnotationCanvas(props: CanvasProps) {
  const { viewer, objects, selected, tool, readOnly } = props;
  const [view, setView] = useState<View>(() => viewOf(viewer));
  const [drag, setDrag] = useState<Drag | null>(null);
  const [poly, setPoly] = useState<[number, number][]>([]);
  const [cursor, setCursor] = useState<[number, number] | null>(null);
  const svgRef = useRef<SVGSVGElement>(null);
  const latest = useRef(props);
  latest.current = props;

  // Follow the viewport: every frame of a pan or zoom, and a resize.
  useEffect(() => {
    const update = () => setView(viewOf(viewer));
    viewer.addHandler("update-viewport", update);
    viewer.addHandler("resize", update);
    // A quick click on the empty image (not a drag) clears the selection.
    const click = (e: OpenSeadragon.CanvasClickEvent) => {
      if (e.quick && latest.current.tool === "select") latest.current.onSelect(null);
    };
    viewer.addHandler("canvas-click", click);
    update();
    return () => {
      viewer.removeHandler("update-viewport", update);
      viewer.removeHandler("resize", update);
      viewer.removeHandler("canvas-click", click);
    };
  }, [viewer]);

  // A polygon in progress belongs to the polygon tool.
  useEffect(() => {
    if (tool !== "polygon") setPoly([]);
  }, [tool]);

  const toImage = (e: { clientX: number; clientY: number }): [number, number] => {
    const r = viewer.container.getBoundingClientRect();
    const p = viewer.viewport.viewerElementToImageCoordinates(
      new OpenSeadragon.Point(e.clientX - r.left, e.clientY - r.top),
    );
    return [p.x, p.y];
  };
  const sx = (x: number) => view.ox + x * view.s;
  const sy = (y: number) => view.oy + y * view.s;

  const finishPolygon = (points: [number, number][]) => {
    // Two clicks of a double-click land on one spot: drop vertices closer than 3 screen px to the one before.
    const pts = points.filter(
      (p, i) => i === 0 || Math.hypot((p[0] - points[i - 1][0]) * view.s, (p[1] - points[i - 1][1]) * view.s) >= 3,
    );
    setPoly([]);
    if (pts.length >= 3) latest.current.onCreate({ kind: "polygon", points: pts });
  };

  // Keys of a polygon in progress (captured before the page's shortcuts, which they would otherwise trigger).
  useEffect(() => {
    if (!poly.length) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") setPoly([]);
      else if (e.key === "Enter") finishPolygon(poly);
      else if (e.key === "Backspace" || e.key === "Delete") setPoly(poly.slice(0, -1));
      else return;
      e.preventDefault();
      e.stopPropagation();
    };
    window.addEventListener("keydown", onKey, true);
    return () => window.removeEventListener("keydown", onKey, true);
  }, [poly, view.s]);

  // A drag follows the pointer anywhere on the page until it is released.
  useEffect(() => {
    if (!drag) return;
    const move = (e: PointerEvent) => {
      const [x, y] = toImage(e);
      setDrag((d) => {
        if (!d) return d;
        if (d.kind === "draw") return { ...d, to: [x, y] };
        if (d.kind === "move") return { ...d, shape: moveShape(d.orig, x - d.from[0], y - d.from[1]) };
        return { ...d, shape: dragHandle(d.orig, d.handle, x, y) };
      });
    };
    const up = () => {
      setDrag((d) => {
        if (!d) return null;
        if (d.kind === "draw") {
          const [x1, y1] = d.from;
          const [x2, y2] = d.to;
          if (Math.abs(x2 - x1) * view.s >= MIN_DRAW_PX && Math.abs(y2 - y1) * view.s >= MIN_DRAW_PX)
            queueMicrotask(() => latest.current.onCreate({ kind: "bbox", x1, y1, x2, y2 }));
        } else if (d.shape !== d.orig) {
          const { id, shape } = d;
          queueMicrotask(() => latest.current.onReshape(id, shape));
        }
        return null;
      });
    };
    window.addEventListener("pointermove", move);
    window.addEventListener("pointerup", up);
    window.addEventListener("pointercancel", up);
    return () => {
      window.removeEventListener("pointermove", move);
      window.removeEventListener("pointerup", up);
      window.removeEventListener("pointercancel", up);
    };
  }, [drag !== null, view.s]);

  // OpenSeadragon pans on pointerdown and zooms on dblclick at the canvas: the layer keeps its own gestures.
  const own = (e: Event) => {
    e.stopPropagation();
    e.preventDefault();
  };

  const onBackgroundDown = (e: PointerEvent) => {
    if (e.button !== 0 || readOnly) return;
    own(e);
    const p = toImage(e);
    if (tool === "bbox") setDrag({ kind: "draw", from: p, to: p });
    else if (tool === "polygon") {
      if (poly.length >= 3 && Math.hypot(sx(poly[0][0]) - sx(p[0]), sy(poly[0][1]) - sy(p[1])) <= CLOSE_PX)
        finishPolygon(poly);
      else setPoly([...poly, p]);
    }
  };

  const onShapeDown = (e: PointerEvent, o: Obj) => {
    if (e.button !== 0 || tool !== "select") return;
    own(e);
    props.onSelect(o.id);
    if (!readOnly) setDrag({ kind: "move", id: o.id, from: toImage(e), orig: o.shape, shape: o.shape });
  };

  const onHandleDown = (e: PointerEvent, o: Obj, handle: number) => {
    if (e.button !== 0 || readOnly) return;
    own(e);
    setDrag({ kind: "handle", id: o.id, handle, orig: o.shape, shape: o.shape });
  };

  const shapeOf = (o: Obj): Shape => (drag && drag.kind !== "draw" && drag.id === o.id ? drag.shape : o.shape);

  const drawShape = (s: Shape, attrs: Record<string, unknown>) =>
    s.kind === "bbox" ? (
      <rect
        x={sx(Math.min(s.x1, s.x2))}
        y={sy(Math.min(s.y1, s.y2))}
        width={Math.abs(s.x2 - s.x1) * view.s}
        height={Math.abs(s.y2 - s.y1) * view.s}
        {...attrs}
      />
    ) : (
      <polygon points={s.points.map(([x, y]) => `${sx(x)},${sy(y)}`).join(" ")} {...attrs} />
    );

  const sel = objects.find((o) => o.id === selected);
  const selShape = sel ? shapeOf(sel) : null;
  const handles =
    selShape && !readOnly && tool === "select"
      ? selShape.kind === "bbox"
        ? boxHandles(selShape)
        : selShape.points
      : [];

  const layer = (
    <svg
      ref={svgRef}
      class={`annotate-layer tool-${tool}${readOnly ? " read-only" : ""}`}
      width={view.w}
      height={view.h}
      data-testid="annotation-layer"
      onPointerMove={(e) => tool === "polygon" && poly.length && setCursor(toImage(e))}
      onDblClick={(e) => {
        if (tool !== "select") own(e);
        if (tool === "polygon" && poly.length) finishPolygon(poly);
      }}
    >
      {tool !== "select" && !readOnly && (
        <rect class="annotate-catcher" x={0} y={0} width={view.w} height={view.h} onPointerDown={onBackgroundDown} />
      )}
      {objects.map((o) => {
        const s = shapeOf(o);
        const color = objectColor(o);
        const b = boundsOf(s);
        const isSel = o.id === selected;
        return (
          <g key={o.id} class={`annotate-object${isSel ? " selected" : ""}`} data-object={o.id}>
            {drawShape(s, {
              stroke: color,
              fill: color,
              "fill-opacity": isSel ? 0.22 : 0.08,
              "stroke-width": isSel ? 3 : 2,
              onPointerDown: (e: PointerEvent) => onShapeDown(e, o),
            })}
            {o.classes.length > 0 && (
              <text x={sx(b.x1) + 3} y={sy(b.y1) - 5} fill={color} class="annotate-label">
                {o.classes.join(", ")}
              </text>
            )}
          </g>
        );
      })}
      {handles.map(([x, y], i) => (
        <rect
          key={i}
          class="annotate-handle"
          x={sx(x) - 5}
          y={sy(y) - 5}
          width={10}
          height={10}
          data-handle={i}
          onPointerDown={(e) => onHandleDown(e, sel!, i)}
        />
      ))}
      {drag?.kind === "draw" &&
        drawShape(
          { kind: "bbox", x1: drag.from[0], y1: drag.from[1], x2: drag.to[0], y2: drag.to[1] },
          {
            class: "annotate-draft",
          },
        )}
      {poly.length > 0 && (
        <>
          <polyline
            class="annotate-draft"
            points={[...poly, ...(cursor ? [cursor] : [])].map(([x, y]) => `${sx(x)},${sy(y)}`).join(" ")}
          />
          {poly.map(([x, y], i) => (
            <circle key={i} class={i === 0 ? "annotate-vertex first" : "annotate-vertex"} cx={sx(x)} cy={sy(y)} r={4} />
          ))}
        </>
      )}
    </svg>
  );
  return createPortal(layer, viewer.canvas);
}
