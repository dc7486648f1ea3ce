import type OpenSeadragon from "openseadragon";
import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import { HttpError } from "../lib/api";
import {
  addClass,
  addTag,
  gallery,
  listTags,
  readAnnotation,
  removeTag,
  saveAnnotation,
  setStatus,
  type GalleryImage,
  type GalleryPage,
  type ImageTag,
  type SetDetail,
} from "../lib/annotate-api";
import { AnnotationCanvas, objectColor, type Tool } from "../lib/annotate-canvas";
import {
  clampShape,
  hasArea,
  History,
  newId,
  objectsFromRemo,
  saveBody,
  type Obj,
  type Shape,
} from "../lib/annotate-model";
import { api } from "../lib/api";
import { boot, idParam } from "../lib/boot";
import { classColor } from "../lib/colors";
import { openDeepZoom } from "../lib/deep-zoom";
import { ErrorBox, Layout, Loading, mount } from "../lib/layout";
import "../styles/annotate.css";

/**
 * The annotation tool, `/annotation/{set}` and `/annotation/{set}/image/{image}` (the SDK's paths). Draws, moves,
 * resizes and deletes boxes and polygons on the deep-zoom image, gives them classes, tags the image, saves through
 * `PUT .../annotations/` (automatically, a moment after each change, or with Ctrl+S), marks the image done or
 * skipped, and steps through the set's images in Remo's gallery order. Read-only on another user's public dataset.
 */

const SAVE_DELAY_MS = 700;

type SaveState = { kind: "saved" } | { kind: "unsaved" } | { kind: "saving" } | { kind: "failed"; message: string };

/**
 * Whether the signed-in user may change the set: the Worker decided it with the same rule as the API (the dataset's
 * owner writes; a public dataset is read-only to everyone else) and put it in the page (`can_edit`).
 */
function canEdit(): boolean {
  return boot().params.can_edit === "true";
}

const imageUrl = (setId: number, imageId: number) => `/annotation/${setId}/image/${imageId}`;

function AnnotatePage() {
  const setId = idParam("set_id");
  const datasetId = idParam("dataset_id");
  const [set, setSet] = useState<SetDetail | null>(null);
  const [imageId, setImageId] = useState<number | null>(boot().params.image_id ? idParam("image_id") : null);
  const [empty, setEmpty] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [readOnly, setReadOnly] = useState(false);

  useEffect(() => {
    api<SetDetail>(`/api/v1/ui/annotation-sets/${setId}/`)
      .then((s) => {
        setSet(s);
        setReadOnly(!canEdit());
      })
      .catch(setError);
    if (imageId === null) {
      // `/annotation/{set}`: the first image of the gallery order, and the URL says which.
      gallery(datasetId, setId)
        .then((page) => {
          const first = page.results[0];
          if (!first) return setEmpty(true);
          history.replaceState(null, "", imageUrl(setId, first.id));
          setImageId(first.id);
        })
        .catch(setError);
    }
    const onPop = () => {
      const m = location.pathname.match(/\/image\/(\d+)/);
      if (m) setImageId(Number(m[1]));
    };
    window.addEventListener("popstate", onPop);
    return () => window.removeEventListener("popstate", onPop);
  }, []);

  const go = useCallback(
    (id: number) => {
      history.pushState(null, "", imageUrl(setId, id));
      setImageId(id);
    },
    [setId],
  );

  const title = set ? (
    <>
      <a href={`/datasets/${set.dataset_id}`}>{set.dataset.name}</a> <span class="muted">/</span> {set.name}
    </>
  ) : (
    "Annotate"
  );
  return (
    <Layout title={title}>
      {error ? (
        <ErrorBox error={error} />
      ) : !set ? (
        <Loading what="the annotation set" />
      ) : empty ? (
        <p class="muted">This set's dataset has no images yet.</p>
      ) : imageId === null ? (
        <Loading what="the first image" />
      ) : (
        <>
          {readOnly && (
            <div class="annotate-readonly" role="note">
              Read-only: this public dataset belongs to {set.dataset.owner}. You can look, but not change its
              annotations.
            </div>
          )}
          <Editor
            key={imageId}
            set={set}
            setSet={setSet}
            imageId={imageId}
            readOnly={readOnly}
            onForbidden={() => setReadOnly(true)}
            go={go}
          />
        </>
      )}
    </Layout>
  );
}

interface EditorProps {
  set: SetDetail;
  setSet(s: SetDetail): void;
  imageId: number;
  readOnly: boolean;
  onForbidden(): void;
  go(id: number): void;
}

/** One image in the tool: the viewer with its objects, and the side panel. Remounted for every image. */
function Editor(props: EditorProps) {
  const { set, imageId, readOnly } = props;
  const setId = set.id;
  const datasetId = set.dataset_id;
  const viewerEl = useRef<HTMLDivElement>(null);
  const [viewer, setViewer] = useState<OpenSeadragon.Viewer | null>(null);
  const [image, setImage] = useState<GalleryImage | null>(null);
  const [counts, setCounts] = useState<GalleryPage | null>(null);
  const [neighbours, setNeighbours] = useState<{ prev: number | null; next: number | null } | null>(null);
  const [objects, setObjects] = useState<Obj[]>([]);
  const [status, setStatusState] = useState<string>("not_annotated");
  const [tags, setTags] = useState<ImageTag[]>([]);
  const [selected, setSelected] = useState<string | null>(null);
  const [tool, setTool] = useState<Tool>("select");
  const [save, setSave] = useState<SaveState>({ kind: "saved" });
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loaded, setLoaded] = useState(false);
  const historyRef = useRef(new History());
  const [, bump] = useState(0);

  // What the save loop reads: the latest objects, the version they are at and the version the server has.
  const state = useRef({ objects: [] as Obj[], version: 0, saved: 0, inFlight: null as Promise<void> | null });
  const timer = useRef<number | undefined>(undefined);

  // Load the image's place in the gallery, its objects, status and tags, and open the deep-zoom viewer.
  useEffect(() => {
    let live = true;
    let v: OpenSeadragon.Viewer | null = null;
    (async () => {
      const [page, ann, tagList] = await Promise.all([
        gallery(datasetId, setId, { imageId, limit: 1 }),
        readAnnotation(datasetId, setId, imageId),
        listTags(setId, imageId),
      ]);
      if (!live) return;
      const img = page.results.find((r) => r.id === imageId);
      if (!img) throw new HttpError(404, "Not found", null);
      setImage(img);
      setCounts(page);
      const objs = objectsFromRemo(ann.annotation_info);
      state.current.objects = objs;
      setObjects(objs);
      setStatusState(ann.status);
      setTags(tagList);
      const [prev, next] = await Promise.all([
        gallery(datasetId, setId, { imageId, direction: "prev", listedAs: img.status }),
        gallery(datasetId, setId, { imageId, direction: "next", listedAs: img.status }),
      ]);
      if (!live) return;
      setNeighbours({ prev: prev.results[0]?.id ?? null, next: next.results[0]?.id ?? null });
      const opened = await openDeepZoom(viewerEl.current!, imageId, {
        keyboardNavEnabled: false,
        gestureSettingsMouse: { clickToZoom: false, dblClickToZoom: false },
      });
      v = opened.viewer;
      if (!live) return v.destroy();
      setViewer(v);
      setLoaded(true);
      // The first screen of tiles drawn: what a person waits for before drawing (tests wait for it too).
      const item = v.world.getItemAt(0);
      const drawn = () => viewerEl.current?.setAttribute("data-tiles", "loaded");
      if (item.getFullyLoaded()) drawn();
      else
        item.addHandler("fully-loaded-change", (e) => {
          if (e.fullyLoaded) drawn();
        });
    })().catch((e) => live && setError(e));
    return () => {
      live = false;
      v?.destroy();
    };
  }, [imageId]);

  /** Sends the current objects unless the server already has them; resolves once it has (or the save failed). */
  const flush = useCallback(async (): Promise<boolean> => {
    window.clearTimeout(timer.current);
    const s = state.current;
    while (s.inFlight) await s.inFlight;
    if (s.version === s.saved || readOnly || !image) return true;
    const version = s.version;
    const { body, dropped } = saveBody(s.objects, image.width, image.height);
    setSave({ kind: "saving" });
    let ok = true;
    // The image's status goes along unchanged: a PUT without one makes a new row `done` (Remo's SDK default), but in
    // the tool only Done and Skip change the status.
    s.inFlight = saveAnnotation(setId, imageId, { ...body, status })
      .then(() => {
        s.saved = version;
        setSave(s.version === s.saved ? { kind: "saved" } : { kind: "unsaved" });
        if (dropped) setNotice(`${dropped} object(s) with no area inside the image were not saved.`);
      })
      .catch((e: HttpError) => {
        ok = false;
        if (e.status === 403) props.onForbidden();
        setSave({ kind: "failed", message: e.message });
      })
      .finally(() => {
        s.inFlight = null;
      });
    await s.inFlight;
    return ok;
  }, [image, readOnly, setId, imageId, status]);

  /** Replaces the objects (recording the old list for undo) and schedules a save. */
  const change = (next: Obj[], record = true) => {
    if (readOnly) return;
    if (record) historyRef.current.push(state.current.objects);
    state.current.objects = next;
    state.current.version++;
    setObjects(next);
    setSave({ kind: "unsaved" });
    window.clearTimeout(timer.current);
    timer.current = window.setTimeout(() => void flush(), SAVE_DELAY_MS);
    bump((n) => n + 1);
  };

  // Unsaved work is saved before the page goes: to another image (also by the browser's Back button, which
  // unmounts this editor), or away (the browser asks first).
  const flushRef = useRef(flush);
  flushRef.current = flush;
  useEffect(
    () => () => {
      if (state.current.version !== state.current.saved) void flushRef.current();
    },
    [],
  );
  useEffect(() => {
    const onUnload = (e: BeforeUnloadEvent) => {
      if (state.current.version !== state.current.saved) e.preventDefault();
    };
    window.addEventListener("beforeunload", onUnload);
    return () => window.removeEventListener("beforeunload", onUnload);
  }, []);

  const selectedObj = objects.find((o) => o.id === selected) ?? null;

  const onCreate = (shape: Shape) => {
    if (!image) return;
    const s = clampShape(shape, image.width, image.height);
    if (!hasArea(s)) return;
    const o: Obj = { id: newId(), name: "", shape: s, classes: [] };
    change([...state.current.objects, o]);
    setSelected(o.id);
  };
  const onReshape = (id: string, shape: Shape) => {
    if (!image) return;
    const s = clampShape(shape, image.width, image.height);
    if (!hasArea(s)) return;
    change(state.current.objects.map((o) => (o.id === id ? { ...o, shape: s } : o)));
  };
  const deleteSelected = () => {
    if (!selected) return;
    change(state.current.objects.filter((o) => o.id !== selected));
    setSelected(null);
  };
  const undo = () => {
    const prev = historyRef.current.undo(state.current.objects);
    if (prev) change(prev, false);
  };
  const redo = () => {
    const next = historyRef.current.redo(state.current.objects);
    if (next) change(next, false);
  };

  /** Gives the selected object class `typed` (a set class, matched without case, or a new one added to the set). */
  const giveClass = async (typed: string, add: boolean) => {
    const name = typed.trim();
    if (!name || !selected || readOnly) return;
    let cls = set.classes.find((c) => c.name.toLowerCase() === name.toLowerCase());
    if (!cls) {
      try {
        cls = await addClass(setId, name);
        props.setSet({ ...set, classes: [...set.classes, cls].sort((a, b) => a.name.localeCompare(b.name)) });
      } catch (e) {
        if ((e as HttpError).status === 403) props.onForbidden();
        setNotice((e as Error).message);
        return;
      }
    }
    const final = cls.name;
    change(
      state.current.objects.map((o) =>
        o.id !== selected
          ? o
          : { ...o, classes: add ? (o.classes.includes(final) ? o.classes : [...o.classes, final]) : [final] },
      ),
    );
  };
  const dropClass = (name: string) => {
    if (!selected) return;
    change(
      state.current.objects.map((o) =>
        o.id === selected ? { ...o, classes: o.classes.filter((c) => c !== name) } : o,
      ),
    );
  };

  const step = async (dir: "prev" | "next") => {
    const id = dir === "prev" ? neighbours?.prev : neighbours?.next;
    if (!id) return;
    if (await flush()) props.go(id);
  };

  const mark = async (value: "done" | "skipped") => {
    if (readOnly || !(await flush())) return;
    try {
      const r = await setStatus(setId, imageId, value);
      setStatusState(r.status);
      if (neighbours?.next) props.go(neighbours.next);
    } catch (e) {
      if ((e as HttpError).status === 403) props.onForbidden();
      setNotice((e as Error).message);
    }
  };

  const onAddTag = async (name: string) => {
    if (!name.trim()) return;
    try {
      const t = await addTag(setId, imageId, name.trim());
      setTags((ts) => (ts.some((x) => x.id === t.id) ? ts : [...ts, t]));
    } catch (e) {
      if ((e as HttpError).status === 403) props.onForbidden();
      setNotice((e as Error).message);
    }
  };
  const onRemoveTag = async (t: ImageTag) => {
    try {
      await removeTag(setId, imageId, t.id);
      setTags((ts) => ts.filter((x) => x.id !== t.id));
    } catch (e) {
      if ((e as HttpError).status === 403) props.onForbidden();
      setNotice((e as Error).message);
    }
  };

  // Keyboard shortcuts (not while typing in a field, except Ctrl+S and Escape).
  const keys = useRef<(e: KeyboardEvent) => void>(() => {});
  keys.current = (e: KeyboardEvent) => {
    const el = e.target as HTMLElement;
    const typing = el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.isContentEditable);
    const ctrl = e.ctrlKey || e.metaKey;
    const k = e.key.toLowerCase();
    if (ctrl && k === "s") {
      e.preventDefault();
      void flush();
      return;
    }
    if (typing) {
      if (e.key === "Escape") el.blur();
      return;
    }
    if (ctrl && k === "z" && !e.shiftKey) return (e.preventDefault(), undo());
    if (ctrl && (k === "y" || (k === "z" && e.shiftKey))) return (e.preventDefault(), redo());
    if (ctrl || e.altKey) return;
    const act: Record<string, () => void> = {
      arrowleft: () => void step("prev"),
      arrowright: () => void step("next"),
      escape: () => (setTool("select"), setSelected(null)),
      ...(readOnly
        ? {}
        : {
            b: () => setTool("bbox"),
            p: () => setTool("polygon"),
            v: () => setTool("select"),
            delete: deleteSelected,
            backspace: deleteSelected,
            d: () => void mark("done"),
            s: () => void mark("skipped"),
            c: () => document.getElementById("class-input")?.focus(),
          }),
    };
    const fn = act[k];
    if (fn) {
      e.preventDefault();
      fn();
    }
  };
  useEffect(() => {
    const h = (e: KeyboardEvent) => keys.current(e);
    window.addEventListener("keydown", h);
    return () => window.removeEventListener("keydown", h);
  }, []);

  // Counts of the classes on this image, for the palette.
  const used = useMemo(() => {
    const m = new Map<string, number>();
    for (const o of objects) for (const c of o.classes) m.set(c, (m.get(c) ?? 0) + 1);
    return m;
  }, [objects]);

  if (error) return <ErrorBox error={error} />;

  const saveLabel =
    save.kind === "saved"
      ? "All changes saved"
      : save.kind === "saving"
        ? "Saving…"
        : save.kind === "unsaved"
          ? "Unsaved changes"
          : `Not saved: ${save.message}`;

  return (
    <div class={`annotate${readOnly ? " with-notice" : ""}`} data-loaded={loaded ? "true" : "false"}>
      <section class="annotate-stage">
        <div class="annotate-toolbar" role="toolbar" aria-label="Tools">
          {!readOnly && (
            <>
              {(
                [
                  ["select", "Select", "V"],
                  ["bbox", "Box", "B"],
                  ["polygon", "Polygon", "P"],
                ] as const
              ).map(([t, label, key]) => (
                <button
                  type="button"
                  key={t}
                  class={tool === t ? "active" : ""}
                  aria-pressed={tool === t}
                  title={`${label} (${key})`}
                  onClick={() => setTool(t)}
                >
                  {label} <kbd>{key}</kbd>
                </button>
              ))}
              <button
                type="button"
                onClick={deleteSelected}
                disabled={!selected}
                title="Delete the selected object (Del)"
              >
                Delete <kbd>Del</kbd>
              </button>
              <button type="button" onClick={undo} disabled={!historyRef.current.canUndo} title="Undo (Ctrl+Z)">
                Undo
              </button>
              <button type="button" onClick={redo} disabled={!historyRef.current.canRedo} title="Redo (Ctrl+Y)">
                Redo
              </button>
              <span class="spacer" />
              <span class={`annotate-save ${save.kind}`} role="status" data-testid="save-state">
                {saveLabel}
              </span>
              <button type="button" onClick={() => void flush()} disabled={save.kind === "saved"} title="Save (Ctrl+S)">
                Save
              </button>
            </>
          )}
          {readOnly && <span class="muted">Viewing only</span>}
        </div>
        <div class="annotate-viewer" ref={viewerEl} data-testid="viewer">
          {viewer && (
            <AnnotationCanvas
              viewer={viewer}
              objects={objects}
              selected={selected}
              tool={readOnly ? "select" : tool}
              readOnly={readOnly}
              onSelect={setSelected}
              onCreate={onCreate}
              onReshape={onReshape}
            />
          )}
          {!loaded && (
            <div class="annotate-loading">
              <Loading what="the image" />
            </div>
          )}
        </div>
        <p class="annotate-help muted" data-testid="shortcuts">
          {readOnly
            ? "← / → previous / next image · wheel to zoom, drag to pan"
            : "V select · B box (drag) · P polygon (click points; click the first, Enter or double-click to close) · Del delete · Ctrl+Z undo · Ctrl+Y redo · Ctrl+S save · C class · ← / → previous / next · D done · S skip · Esc cancel"}
        </p>
      </section>
      <aside class="annotate-side">
        <div class="panel">
          <div class="annotate-image-head">
            <strong data-testid="image-name">{image?.name ?? "…"}</strong>
            <span class={`status-badge ${status}`} data-testid="image-status">
              {status.replace("_", " ")}
            </span>
          </div>
          {counts && (
            <p class="muted small">
              {counts.count} images · {counts.not_annotated_count} to do · {counts.skipped_count} skipped ·{" "}
              {counts.annotated_count} done
            </p>
          )}
          <div class="annotate-nav">
            <button type="button" onClick={() => void step("prev")} disabled={!neighbours?.prev} title="Previous (←)">
              ← Previous
            </button>
            <button type="button" onClick={() => void step("next")} disabled={!neighbours?.next} title="Next (→)">
              Next →
            </button>
          </div>
          {!readOnly && (
            <div class="annotate-nav">
              <button type="button" class="primary" onClick={() => void mark("done")} title="Mark done (D)">
                Done <kbd>D</kbd>
              </button>
              <button type="button" onClick={() => void mark("skipped")} title="Skip (S)">
                Skip <kbd>S</kbd>
              </button>
            </div>
          )}
          {notice && (
            <p class="error" role="alert">
              {notice}{" "}
              <button type="button" class="link" onClick={() => setNotice(null)}>
                Dismiss
              </button>
            </p>
          )}
        </div>

        <div class="panel">
          <h2>Selected object</h2>
          {!selectedObj ? (
            <p class="muted small">{readOnly ? "Click an object to see its classes." : "Draw or click an object."}</p>
          ) : (
            <>
              <div class="annotate-chips" data-testid="selected-classes">
                {selectedObj.classes.length === 0 && <span class="muted small">No class yet</span>}
                {selectedObj.classes.map((c) => (
                  <span class="chip" key={c}>
                    <span class="swatch" style={{ background: classColor(c) }} />
                    {c}
                    {!readOnly && (
                      <button type="button" class="link" aria-label={`Remove class ${c}`} onClick={() => dropClass(c)}>
                        ×
                      </button>
                    )}
                  </span>
                ))}
              </div>
              {!readOnly && (
                <ClassInput classes={set.classes.map((c) => c.name)} onPick={(n, add) => void giveClass(n, add)} />
              )}
            </>
          )}
        </div>

        <div class="panel">
          <h2>Classes</h2>
          <ul class="annotate-classes">
            {set.classes.map((c) => (
              <li key={c.id}>
                <button
                  type="button"
                  class="link"
                  disabled={!selectedObj || readOnly}
                  title={selectedObj ? "Give the selected object this class (Shift: add it)" : undefined}
                  onClick={(e) => void giveClass(c.name, (e as MouseEvent).shiftKey)}
                >
                  <span class="swatch" style={{ background: classColor(c.name) }} />
                  {c.name}
                </button>
                <span class="muted small">{used.get(c.name) ?? ""}</span>
              </li>
            ))}
            {set.classes.length === 0 && <li class="muted small">No classes yet: type one for an object.</li>}
          </ul>
        </div>

        <div class="panel">
          <h2>Objects ({objects.length})</h2>
          <ol class="annotate-objects" data-testid="objects">
            {objects.map((o) => (
              <li key={o.id} class={o.id === selected ? "selected" : ""}>
                <button type="button" class="link" onClick={() => setSelected(o.id)}>
                  <span class="swatch" style={{ background: objectColor(o) }} />
                  {o.classes.join(", ") || <em>no class</em>}
                  <span class="muted small"> {o.shape.kind === "bbox" ? "box" : "polygon"}</span>
                </button>
              </li>
            ))}
          </ol>
        </div>

        <div class="panel">
          <h2>Tags</h2>
          <div class="annotate-chips" data-testid="tags">
            {tags.map((t) => (
              <span class="chip" key={t.id}>
                {t.name}
                {!readOnly && (
                  <button
                    type="button"
                    class="link"
                    aria-label={`Remove tag ${t.name}`}
                    onClick={() => void onRemoveTag(t)}
                  >
                    ×
                  </button>
                )}
              </span>
            ))}
            {tags.length === 0 && <span class="muted small">No tags</span>}
          </div>
          {!readOnly && (
            <form
              class="annotate-inline-form"
              onSubmit={(e) => {
                e.preventDefault();
                const input = (e.currentTarget as HTMLFormElement).elements.namedItem("tag") as HTMLInputElement;
                void onAddTag(input.value).then(() => (input.value = ""));
              }}
            >
              <input name="tag" aria-label="New tag" placeholder="Add a tag" autocomplete="off" />
              <button type="submit">Add</button>
            </form>
          )}
        </div>
      </aside>
    </div>
  );
}

/**
 * The class field: a text input with the set's classes as suggestions (a datalist). Enter gives the object the class
 * (Shift+Enter adds it to the object's classes); a name not in the set joins it.
 */
function ClassInput(props: { classes: string[]; onPick(name: string, add: boolean): void }) {
  const [value, setValue] = useState("");
  return (
    <form
      class="annotate-inline-form"
      onSubmit={(e) => {
        e.preventDefault();
        props.onPick(value, false);
        setValue("");
      }}
    >
      <input
        id="class-input"
        list="set-classes"
        aria-label="Class"
        placeholder="Type or pick a class"
        autocomplete="off"
        value={value}
        onInput={(e) => setValue((e.currentTarget as HTMLInputElement).value)}
        onKeyDown={(e) => {
          if (e.key === "Enter" && e.shiftKey) {
            e.preventDefault();
            props.onPick(value, true);
            setValue("");
          }
        }}
      />
      <datalist id="set-classes">
        {props.classes.map((c) => (
          <option key={c} value={c} />
        ))}
      </datalist>
      <button type="submit">Set class</button>
    </form>
  );
}

mount(<AnnotatePage />);
