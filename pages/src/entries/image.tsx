import type OpenSeadragon from "openseadragon";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { api } from "../lib/api";
import { idParam } from "../lib/boot";
import { classColor } from "../lib/colors";
import { openDeepZoom } from "../lib/deep-zoom";
import { findNeighbours, type Neighbours } from "../lib/image-neighbours";
import { ErrorBox, Layout, Loading, humanBytes, mount } from "../lib/layout";
import { ImageOverlay, type OverlayShape } from "../lib/overlay-svg";
import "../styles/image.css";

/**
 * The image page, `/image/{id}?dataset_id={ds}` (the SDK's Image.view() sends `datasetId`; the Worker gives the page
 * the image's own dataset either way): the photo in deep zoom with every annotation set's objects drawn over it in
 * image pixels, toggles per set and per class, and a side panel with the image's facts, each set's tags and status,
 * links to annotate it and to the previous and next images, and a download of the original.
 */

/** `GET /api/v1/ui/datasets/{ds}/images/{id}/` (src/services/images/dataset-images.ts `datasetImageDetail`). */
interface ImageDetail {
  id: number;
  name: string;
  original: string;
  dataset: { id: number; name: string };
  dimensions: [number, number];
  annotations: SetEntry[];
}
interface SetEntry {
  annotation_set: { id: number; name: string; task: string };
  tags: { id: number; name: string }[];
  classes: Record<string, number>;
  objects: { id: number; name: string; coordinates: { x: number; y: number }[]; classes: string[] }[];
}
type Status = "done" | "skipped" | "not_annotated";

const imageId = idParam("image_id");
const datasetId = idParam("dataset_id");

/** Key of a (set, class) toggle. Objects without a class are filed under "" (shown as "no class"). */
const classKey = (setId: number, name: string) => `${setId}\u0000${name}`;

function ImagePage() {
  const [detail, setDetail] = useState<ImageDetail | null>(null);
  const [size, setSize] = useState<number | null>(null);
  const [statuses, setStatuses] = useState<Record<number, Status>>({});
  const [neighbours, setNeighbours] = useState<Neighbours | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [hiddenSets, setHiddenSets] = useState<Set<number>>(new Set());
  const [hiddenClasses, setHiddenClasses] = useState<Set<string>>(new Set());

  useEffect(() => {
    api<ImageDetail>(`/api/v1/ui/datasets/${datasetId}/images/${imageId}/`)
      .then((d) => {
        setDetail(d);
        document.title = `${d.name} · Remo`;
        // Each set's status of this image: the SDK's annotation read carries it.
        for (const e of d.annotations) {
          const s = e.annotation_set.id;
          api<{ status: Status }>(`/api/dataset/${datasetId}/annotation-set/${s}/image/${imageId}/annotation/`)
            .then((r) => setStatuses((prev) => ({ ...prev, [s]: r.status })))
            .catch(setError);
        }
      })
      .catch(setError);
    api<{ size: number }>(`/api/v1/sdk/images/${imageId}/`)
      .then((r) => setSize(r.size))
      .catch(setError);
    findNeighbours(datasetId, imageId).then(setNeighbours).catch(setError);
  }, []);

  const shapes = useMemo<OverlayShape[]>(() => {
    if (!detail) return [];
    const out: OverlayShape[] = [];
    for (const e of detail.annotations) {
      const setId = e.annotation_set.id;
      if (hiddenSets.has(setId)) continue;
      for (const o of e.objects) {
        const cls = o.classes[0] ?? "";
        if (hiddenClasses.has(classKey(setId, cls))) continue;
        out.push({
          points: o.coordinates,
          color: classColor(cls || o.name),
          label: o.classes.length ? o.classes.join(", ") : o.name,
          attrs: { set: String(setId), class: cls },
        });
      }
    }
    return out;
  }, [detail, hiddenSets, hiddenClasses]);

  const toggle = <T,>(set: Set<T>, value: T, update: (s: Set<T>) => void) => {
    const next = new Set(set);
    if (next.has(value)) next.delete(value);
    else next.add(value);
    update(next);
  };

  if (error) {
    return (
      <Layout title="Image">
        <ErrorBox error={error} />
      </Layout>
    );
  }
  if (!detail) {
    return (
      <Layout title="Image">
        <Loading what="the image" />
      </Layout>
    );
  }
  const [w, h] = detail.dimensions;
  return (
    <Layout
      title={<span class="image-title">{detail.name}</span>}
      actions={
        <nav class="image-nav" aria-label="Images of this dataset">
          <NeighbourLink image={neighbours?.prev ?? null} rel="prev" text="← Previous" />
          <NeighbourLink image={neighbours?.next ?? null} rel="next" text="Next →" />
        </nav>
      }
    >
      <div class="image-page">
        <Viewer shapes={shapes} onError={setError} />
        <aside class="image-side panel" aria-label="Image details">
          <dl class="image-facts">
            <dt>Dataset</dt>
            <dd>
              <a href={`/datasets/${detail.dataset.id}`} data-testid="dataset-link">
                {detail.dataset.name}
              </a>
            </dd>
            <dt>Dimensions</dt>
            <dd data-testid="dimensions">
              {w} × {h} px
            </dd>
            <dt>Size</dt>
            <dd data-testid="file-size">{size === null ? "…" : humanBytes(size)}</dd>
          </dl>
          <p>
            <a class="button" href={detail.original} download={detail.name} data-testid="download">
              Download original
            </a>
          </p>
          {detail.annotations.length === 0 && <p class="muted">This dataset has no annotation sets.</p>}
          {detail.annotations.map((e) => (
            <SetPanel
              key={e.annotation_set.id}
              entry={e}
              status={statuses[e.annotation_set.id]}
              shown={!hiddenSets.has(e.annotation_set.id)}
              onToggle={() => toggle(hiddenSets, e.annotation_set.id, setHiddenSets)}
              classShown={(name) => !hiddenClasses.has(classKey(e.annotation_set.id, name))}
              onToggleClass={(name) => toggle(hiddenClasses, classKey(e.annotation_set.id, name), setHiddenClasses)}
            />
          ))}
        </aside>
      </div>
    </Layout>
  );
}

function NeighbourLink(props: { image: { id: number; name: string } | null; rel: string; text: string }) {
  if (!props.image)
    return (
      <span class="button disabled" aria-disabled="true">
        {props.text}
      </span>
    );
  return (
    <a
      class="button"
      rel={props.rel}
      href={`/image/${props.image.id}?dataset_id=${datasetId}`}
      title={props.image.name}
      data-testid={`${props.rel}-image`}
    >
      {props.text}
    </a>
  );
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** `object_detection` → `Object detection`, as Remo names its tasks. */
const taskName = (task: string) => task.charAt(0).toUpperCase() + task.slice(1).replace(/_/g, " ");

const STATUS_TEXT: Record<Status, string> = { done: "Done", skipped: "Skipped", not_annotated: "Not annotated" };

/** One annotation set: its toggle with the object count, status, tags, a link to annotate, and its class toggles. */
function SetPanel(props: {
  entry: SetEntry;
  status: Status | undefined;
  shown: boolean;
  onToggle: () => void;
  classShown: (name: string) => boolean;
  onToggleClass: (name: string) => void;
}) {
  const e = props.entry;
  const set = e.annotation_set;
  // Objects per class as drawn (an object is filed under its first class); image-level classes have no shape.
  const counts = new Map<string, number>();
  for (const o of e.objects) counts.set(o.classes[0] ?? "", (counts.get(o.classes[0] ?? "") ?? 0) + 1);
  const imageClasses = Object.keys(e.classes).filter((c) => !e.objects.some((o) => o.classes.includes(c)));
  const classes = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return (
    <section class="image-set" data-testid="set" data-set={set.id}>
      <label class="image-set-head">
        <input type="checkbox" checked={props.shown} disabled={!e.objects.length} onChange={props.onToggle} />
        <strong>{set.name}</strong>
        <span class="muted" data-testid="set-count">
          {e.objects.length || !imageClasses.length
            ? plural(e.objects.length, "object")
            : plural(imageClasses.length, "class", "classes")}
        </span>
      </label>
      <div class="image-set-meta">
        <span class="muted">{taskName(set.task)}</span>
        {props.status && (
          <span class={`chip status-${props.status}`} data-testid="status">
            {STATUS_TEXT[props.status]}
          </span>
        )}
      </div>
      <div class="image-set-tags" data-testid="tags">
        {e.tags.length ? (
          e.tags.map((t) => (
            <span class="chip" key={t.id}>
              {t.name}
            </span>
          ))
        ) : (
          <span class="muted">No tags</span>
        )}
      </div>
      {imageClasses.length > 0 && (
        <div class="image-set-tags">
          {imageClasses.map((c) => (
            <span class="chip" key={c}>
              <span class="swatch" style={{ background: classColor(c) }} />
              {c}
            </span>
          ))}
        </div>
      )}
      {classes.length > 0 && (
        <ul class="image-classes">
          {classes.map(([name, n]) => (
            <li key={name}>
              <label>
                <input
                  type="checkbox"
                  checked={props.classShown(name)}
                  disabled={!props.shown}
                  onChange={() => props.onToggleClass(name)}
                  aria-label={`${name || "No class"} (${n})`}
                />
                <span class="swatch" style={{ background: classColor(name) }} />
                <span class="image-class-name">{name || <em>no class</em>}</span>
                <span class="muted">{n}</span>
              </label>
            </li>
          ))}
        </ul>
      )}
      <a href={`/annotation/${set.id}/image/${imageId}`} data-testid="annotate">
        Annotate in {set.name}
      </a>
    </section>
  );
}

/** The deep-zoom viewer with the overlay; mounts OpenSeadragon once and hands it each new list of shapes. */
function Viewer(props: { shapes: OverlayShape[]; onError: (e: unknown) => void }) {
  const ref = useRef<HTMLDivElement>(null);
  const overlay = useRef<ImageOverlay | null>(null);
  const shapes = useRef(props.shapes);
  shapes.current = props.shapes;

  useEffect(() => {
    let viewer: OpenSeadragon.Viewer | null = null;
    let gone = false;
    openDeepZoom(ref.current!, imageId)
      .then((r) => {
        viewer = r.viewer;
        if (gone) return r.viewer.destroy();
        overlay.current = new ImageOverlay(r.viewer);
        overlay.current.setShapes(shapes.current);
      })
      .catch(props.onError);
    return () => {
      gone = true;
      overlay.current?.destroy();
      viewer?.destroy();
    };
  }, []);

  useEffect(() => {
    overlay.current?.setShapes(props.shapes);
  }, [props.shapes]);

  return <div class="image-viewer" ref={ref} data-testid="viewer" />;
}

mount(<ImagePage />);
