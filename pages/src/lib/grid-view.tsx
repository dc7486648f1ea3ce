import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { classColor } from "./colors";
import type { GridFolder, GridItem, GridLoader, GridShape } from "./grid-data";
import { ErrorBox } from "./layout";

/**
 * The thumbnail grid of the dataset and search pages, built to stay fast on a dataset of 100,000 images:
 * - it never loads a whole list: it reads the API's pages one after another by their `next` link (the only way a
 *   cursor-paged list can be read), and asks for the next page only when the user has scrolled to within a
 *   screen of the end of what is loaded;
 * - it renders only the rows on screen (plus two above and below): tiles have one fixed size per grid width, so a
 *   row's position is arithmetic, the loaded rows are one tall box, and the DOM holds about 8 rows of tiles however
 *   far the user scrolls (a "load more" list that kept every tile would hold 100,000 `<img>`s and SVGs at the end).
 * Each tile draws the image's boxes and polygons in an SVG whose viewBox is the image's width × height, laid over
 * the picture with the same contain-fit, so shapes sit on the pixels they name at any tile size.
 */

const MIN_TILE = 180; // px: the narrowest a tile gets before the grid drops a column
const GAP = 10; // px between tiles
const CAPTION = 24; // px under each picture
const OVERSCAN = 2; // rows rendered above and below the screen

export interface GridProps {
  /** The first page's URL. Give the same value as `key`, so a new list is a new grid (never the old list marked done). */
  firstUrl: string;
  load: GridLoader;
  /** Called with the folders a page brings (plain contents listings put them first). */
  onFolders?: (folders: GridFolder[]) => void;
  /** Called with the list's count when the first page says it. */
  onCount?: (count: number | null) => void;
  empty?: string;
}

interface ListState {
  items: GridItem[];
  next: string | null;
  loading: boolean;
  error: unknown;
  done: boolean;
}

/** The grid; see the module comment for how it pages and what it renders. */
export function ImageGrid(props: GridProps) {
  const box = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(0);
  const [view, setView] = useState({ top: 0, height: typeof window === "undefined" ? 800 : window.innerHeight });
  const [list, setList] = useState<ListState>({ items: [], next: null, loading: true, error: null, done: false });
  // Until the pictures on screen have arrived, the rows above and below it get no picture: the browser has 6
  // connections to this server, and the on-screen pictures should not wait behind ones nobody sees yet.
  const [primed, setPrimed] = useState(false);
  const checkPrimed = () => {
    const imgs = box.current ? [...box.current.querySelectorAll<HTMLImageElement>("img[src]")] : [];
    if (imgs.length && imgs.every((i) => i.complete)) setPrimed(true);
  };
  const abort = useRef<AbortController | null>(null);

  async function loadPage(url: string, reset: boolean) {
    abort.current?.abort();
    const ctl = new AbortController();
    abort.current = ctl;
    setList((s) =>
      reset ? { items: [], next: null, loading: true, error: null, done: false } : { ...s, loading: true },
    );
    try {
      const page = await props.load(url, ctl.signal);
      if (ctl.signal.aborted) return;
      if (page.folders.length) props.onFolders?.(page.folders);
      if (reset) props.onCount?.(page.count);
      setList((s) => ({
        items: reset ? page.items : [...s.items, ...page.items],
        next: page.next,
        loading: false,
        error: null,
        done: !page.next,
      }));
    } catch (e) {
      if (ctl.signal.aborted) return;
      setList((s) => ({ ...s, loading: false, error: e }));
    }
  }

  useEffect(() => {
    loadPage(props.firstUrl, true);
    return () => abort.current?.abort();
  }, [props.firstUrl]);

  // The grid's width (columns) and the window's scroll position relative to the grid's top.
  useLayoutEffect(() => {
    const el = box.current!;
    const measure = () => {
      const r = el.getBoundingClientRect();
      setWidth(r.width);
      setView({ top: -r.top, height: window.innerHeight });
    };
    let frame = 0;
    const onScroll = () => {
      setPrimed(true);
      if (!frame)
        frame = requestAnimationFrame(() => {
          frame = 0;
          measure();
        });
    };
    // The grid's own width, and the page's height: content above the grid (a header that arrives later) moves it.
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    ro.observe(document.body);
    window.addEventListener("scroll", onScroll, { passive: true });
    window.addEventListener("resize", onScroll);
    measure();
    return () => {
      ro.disconnect();
      window.removeEventListener("scroll", onScroll);
      window.removeEventListener("resize", onScroll);
      cancelAnimationFrame(frame);
    };
  }, []);

  const cols = Math.max(1, Math.floor((width + GAP) / (MIN_TILE + GAP)));
  const tileW = width ? (width - GAP * (cols - 1)) / cols : MIN_TILE;
  const imgH = Math.round(tileW * 0.75);
  const rowH = imgH + CAPTION + GAP;
  const rows = Math.ceil(list.items.length / cols);
  const first = Math.max(0, Math.floor(view.top / rowH) - OVERSCAN);
  const last = Math.min(rows, Math.ceil((view.top + view.height) / rowH) + OVERSCAN);

  // Next page when the loaded rows end within one screen of the bottom of the window (a page of 48 is 8 rows at
  // 1280 px: more than a screen, so the first screen's pictures are not kept waiting by the next page's read).
  useEffect(() => {
    if (!list.next || list.loading || list.error || !width) return;
    // Not before the first screen's pictures, unless the loaded rows do not even fill the screen.
    if (!primed && rows * rowH > view.top + view.height) return;
    if (rows * rowH - (view.top + view.height) < view.height) loadPage(list.next, false);
  }, [list, view, rows, rowH, primed]);

  const shown = list.items.slice(first * cols, last * cols);
  const onScreen = (i: number) => {
    const row = first + Math.floor(i / cols);
    return row * rowH < view.top + view.height && (row + 1) * rowH > view.top;
  };
  return (
    <div class="grid-wrap">
      <div
        ref={box}
        class="grid-box"
        data-testid="grid"
        data-source={props.firstUrl}
        data-loaded={list.items.length}
        data-done={list.done ? "true" : "false"}
        data-loading={list.loading ? "true" : "false"}
        style={{ height: `${rows * rowH}px` }}
      >
        {width > 0 && (
          <div
            class="grid-rows"
            style={{
              transform: `translateY(${first * rowH}px)`,
              gridTemplateColumns: `repeat(${cols}, 1fr)`,
              gridAutoRows: `${imgH + CAPTION}px`,
              gap: `${GAP}px`,
            }}
          >
            {shown.map((it, i) => (
              <Tile key={it.key} item={it} imgH={imgH} picture={primed || onScreen(i)} onPicture={checkPrimed} />
            ))}
          </div>
        )}
      </div>
      {list.loading && (
        <p class="muted" role="status">
          Loading images…
        </p>
      )}
      {!!list.error && <ErrorBox error={list.error} />}
      {list.done && !list.items.length && !list.error && <p class="muted">{props.empty ?? "No images."}</p>}
    </div>
  );
}

/** One tile; `picture` false leaves its picture out for now (its shapes and name are drawn). */
function Tile(props: { item: GridItem; imgH: number; picture: boolean; onPicture: () => void }) {
  const it = props.item;
  return (
    <a
      class="tile"
      href={it.href}
      data-testid="tile"
      data-image-id={it.id}
      data-dataset-id={it.datasetId}
      data-image-name={it.name}
      title={it.name}
    >
      <div class="tile-pic" style={{ height: `${props.imgH}px` }}>
        <img
          src={props.picture ? it.preview : undefined}
          alt={it.name}
          decoding="async"
          onLoad={props.onPicture}
          onError={props.onPicture}
        />
        {it.width > 0 && it.height > 0 && (
          <svg viewBox={`0 0 ${it.width} ${it.height}`} preserveAspectRatio="xMidYMid meet" aria-hidden="true">
            {it.shapes.map((s, i) => (
              <Shape key={i} shape={s} />
            ))}
          </svg>
        )}
      </div>
      <div class="tile-name">
        {it.name}
        {it.note && <span class="muted"> · {it.note}</span>}
      </div>
    </a>
  );
}

/** A bbox (its two corners, in any order) as a rect, 3+ points as a polygon, stroked in its first class's colour. */
function Shape(props: { shape: GridShape }) {
  const s = props.shape;
  const cls = s.classes[0] ?? "";
  const color = classColor(cls);
  const common = { stroke: color, "data-class": cls, "data-set": s.setId ?? "", class: "shape" };
  if (s.points.length === 2) {
    const [a, b] = s.points;
    return (
      <rect
        {...common}
        x={Math.min(a.x, b.x)}
        y={Math.min(a.y, b.y)}
        width={Math.abs(b.x - a.x)}
        height={Math.abs(b.y - a.y)}
      />
    );
  }
  return <polygon {...common} points={s.points.map((p) => `${p.x},${p.y}`).join(" ")} />;
}

/** The classes' colours, as the shapes use them. */
export function Legend(props: { classes: { name: string; count?: number }[] }) {
  if (!props.classes.length) return null;
  return (
    <div class="legend" data-testid="legend">
      {props.classes.map((c) => (
        <span class="chip" key={c.name} data-class={c.name}>
          <span class="swatch" style={{ background: classColor(c.name) }} />
          {c.name}
          {c.count !== undefined && <span class="muted">{c.count}</span>}
        </span>
      ))}
    </div>
  );
}
