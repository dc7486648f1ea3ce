/**
 * /annotation-detail/{set}/insights: a set's statistics as charts, each with a table of the same numbers, so the
 * numbers can be read (and copied) without hovering. Sources, all public JSON API:
 * - `GET /api/v1/ui/annotation-sets/{id}/` — the set's name, task and dataset (name, id);
 * - `GET /api/v1/ui/datasets/{ds}/annotation-sets/` — the set's `statistics` (done / skipped / todo image counts,
 *   annotated images) and `total_images` (README "Annotation sets, classes, tags, annotations and search");
 * - `GET /api/v1/ui/annotation-sets/{id}/insights/` — objects and images per class, images and objects per tag;
 *   with `?split_by_tags=a,b` each class also carries how many of its images carry each of those tags.
 * Charts are chart.js v4, tree-shaken: only the bar and doughnut pieces below are bundled.
 */
import {
  ArcElement,
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  DoughnutController,
  Legend,
  LinearScale,
  Tooltip,
  type ChartConfiguration,
} from "chart.js";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { api, allPages } from "../lib/api";
import { idParam } from "../lib/boot";
import { classColor } from "../lib/colors";
import { ErrorBox, Layout, Loading, mount } from "../lib/layout";
import "../styles/insights.css";

Chart.register(BarController, BarElement, CategoryScale, LinearScale, DoughnutController, ArcElement, Tooltip, Legend);
Chart.defaults.font.family = getComputedStyle(document.documentElement).fontFamily || "system-ui, sans-serif";
Chart.defaults.color = "#475467";
// Bars grow in, unless the person asked for less motion (then each chart is drawn at once, final).
if (matchMedia("(prefers-reduced-motion: reduce)").matches) Chart.defaults.animation = false;

/** One class of the insights answer (`record_type: "class"`); counts are objects and images. */
interface ClassRecord {
  record_type: "class";
  class: { name: string; objects_per_image: number; total_annotation_objects: number; total_images: number };
  /** Present when asked with `?split_by_tags=`: tag name → images of this class carrying that tag. */
  split_by_tags?: Record<string, number>;
}
/** One tag of the insights answer (`record_type: "tag"`): images carrying it and the objects on those images. */
interface TagRecord {
  record_type: "tag";
  tag: { name: string; total_images: number; total_annotation_objects: number };
}
interface Insights {
  total_annotated_images: number;
  total_annotation_objects: number;
  results: (ClassRecord | TagRecord)[];
}
interface SetDetail {
  id: number;
  name: string;
  task: { name: string; type: string };
  dataset: { id: number; name: string };
  dataset_id: number;
}
interface SetListItem {
  id: number;
  total_images: number;
  statistics: {
    annotated_images_count: number;
    done_count: number;
    skipped_count: number;
    todo_count: number;
    total_classes: number;
    total_annotation_objects: number;
    images_without_annotations: number;
    tags: string[];
  };
}

interface Loaded {
  set: SetDetail;
  item: SetListItem;
  insights: Insights;
}

const setId = idParam("set_id");
const datasetId = idParam("dataset_id");

/** `1,234` (en-US grouping, so the numbers read the same for everyone and the tests can parse them). */
const fmt = (n: number) => n.toLocaleString("en-US");
/** A share as `42%` / `4.2%`; `–` when the whole is 0. */
const pct = (part: number, whole: number) => {
  if (!whole) return "–";
  const p = (100 * part) / whole;
  return `${p >= 10 || p === 0 ? p.toFixed(0) : p.toFixed(1)}%`;
};

/** The status colours, as in the annotation tool: done green, skipped amber, to do grey. */
const STATUS_COLORS = { done: "#2e9e5b", skipped: "#e0a126", todo: "#c3c8d2" };
/** Colours for tags (tags have no per-name colour of their own): a fixed cycle, distinct from the status ones. */
const TAG_PALETTE = ["#3656d6", "#9b51e0", "#00a3a3", "#e4572e", "#6c8b00", "#d63384", "#795548", "#607d8b"];

/** The two kinds of chart this page draws. */
type AnyConfig = ChartConfiguration<"bar"> | ChartConfiguration<"doughnut">;

/**
 * A chart.js chart on a canvas that fills its box; rebuilt when `config` changes (compared by the JSON of its data),
 * destroyed on unmount. `height` is the box's CSS height in pixels; `label` names the chart for screen readers.
 */
function ChartCanvas(props: { config: AnyConfig; height: number; label: string; testId: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const key = JSON.stringify(props.config.data);
  useEffect(() => {
    const chart = new Chart(canvas.current!, props.config);
    return () => chart.destroy();
  }, [key]);
  return (
    <div class="chart-box" style={{ height: `${props.height}px` }}>
      <canvas ref={canvas} role="img" aria-label={props.label} data-testid={props.testId} />
    </div>
  );
}

/** Horizontal bars, one per label, most readable for long class names; `colors` per bar. */
function barConfig(
  labels: string[],
  label: string,
  values: number[],
  colors: string | string[],
): ChartConfiguration<"bar"> {
  return {
    type: "bar",
    data: {
      labels,
      datasets: [{ label, data: values, backgroundColor: colors, hoverBackgroundColor: colors, borderRadius: 3 }],
    },
    options: {
      indexAxis: "y",
      maintainAspectRatio: false,
      plugins: { legend: { display: false } },
      scales: { x: { beginAtZero: true, ticks: { precision: 0 } }, y: { ticks: { autoSkip: false } } },
    },
  };
}

/** Box height for `n` horizontal bars (about 26 px a bar plus the axis). */
const barsHeight = (n: number, perBar = 26) => Math.max(120, n * perBar + 50);

function Summary(props: { item: SetListItem; insights: Insights; classes: number; tags: number }) {
  const { item, insights } = props;
  const cards: [string, number][] = [
    ["Images", item.total_images],
    ["Annotated images", insights.total_annotated_images],
    ["Objects", insights.total_annotation_objects],
    ["Classes", props.classes],
    ["Tags", props.tags],
  ];
  return (
    <dl class="insights-summary" aria-label="Summary">
      {cards.map(([k, v]) => (
        <div class="panel" key={k}>
          <dt class="muted">{k}</dt>
          <dd data-testid={`summary-${k.toLowerCase().replace(/ /g, "-")}`}>{fmt(v)}</dd>
        </div>
      ))}
    </dl>
  );
}

function StatusSection(props: { item: SetListItem }) {
  const s = props.item.statistics;
  const total = props.item.total_images;
  const rows: [string, number, string][] = [
    ["Done", s.done_count, STATUS_COLORS.done],
    ["Skipped", s.skipped_count, STATUS_COLORS.skipped],
    ["To do", s.todo_count, STATUS_COLORS.todo],
  ];
  const config: ChartConfiguration<"doughnut"> = {
    type: "doughnut",
    data: {
      labels: rows.map((r) => r[0]),
      datasets: [{ data: rows.map((r) => r[1]), backgroundColor: rows.map((r) => r[2]), hoverOffset: 4 }],
    },
    options: { maintainAspectRatio: false, cutout: "58%", plugins: { legend: { position: "bottom" } } },
  };
  return (
    <section class="panel insights-section" aria-labelledby="status-h">
      <h2 id="status-h">Annotation progress</h2>
      <div class="insights-pair">
        {total ? (
          <ChartCanvas config={config} height={240} label="Images done, skipped and to do" testId="chart-status" />
        ) : (
          <p class="muted">This dataset has no images yet.</p>
        )}
        <table aria-label="Images by status" data-testid="status-table">
          <thead>
            <tr>
              <th>Status</th>
              <th class="num">Images</th>
              <th class="num">Share</th>
            </tr>
          </thead>
          <tbody>
            {rows.map(([name, n, color]) => (
              <tr key={name}>
                <td>
                  <span class="swatch" style={{ background: color }} /> {name}
                </td>
                <td class="num">{fmt(n)}</td>
                <td class="num">{pct(n, total)}</td>
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr>
              <th>All images</th>
              <th class="num">{fmt(total)}</th>
              <th />
            </tr>
          </tfoot>
        </table>
      </div>
      <p class="muted">
        {fmt(s.annotated_images_count)} images carry annotations (objects, classes or tags);{" "}
        {fmt(s.images_without_annotations)} carry none.
      </p>
    </section>
  );
}

function ClassSection(props: { classes: ClassRecord["class"][]; task: string }) {
  const { classes } = props;
  const names = classes.map((c) => c.name);
  const colors = names.map(classColor);
  const classification = props.task === "image_classification";
  return (
    <section class="panel insights-section" aria-labelledby="classes-h">
      <h2 id="classes-h">Classes</h2>
      {classes.length === 0 ? (
        <p class="muted">This set has no classes yet.</p>
      ) : (
        <>
          <div class={classification ? "insights-charts one" : "insights-charts"}>
            {!classification && (
              <figure>
                <figcaption>Objects per class</figcaption>
                <ChartCanvas
                  config={barConfig(
                    names,
                    "Objects",
                    classes.map((c) => c.total_annotation_objects),
                    colors,
                  )}
                  height={barsHeight(names.length)}
                  label="Objects per class"
                  testId="chart-class-objects"
                />
              </figure>
            )}
            <figure>
              <figcaption>Images per class</figcaption>
              <ChartCanvas
                config={barConfig(
                  names,
                  "Images",
                  classes.map((c) => c.total_images),
                  colors,
                )}
                height={barsHeight(names.length)}
                label="Images per class"
                testId="chart-class-images"
              />
            </figure>
          </div>
          <table aria-label="Objects and images per class" data-testid="class-table">
            <thead>
              <tr>
                <th>Class</th>
                <th class="num">Objects</th>
                <th class="num">Images</th>
                <th class="num">Objects per image</th>
              </tr>
            </thead>
            <tbody>
              {classes.map((c) => (
                <tr key={c.name}>
                  <td>
                    <span class="swatch" style={{ background: classColor(c.name) }} /> {c.name}
                  </td>
                  <td class="num">{fmt(c.total_annotation_objects)}</td>
                  <td class="num">{fmt(c.total_images)}</td>
                  <td class="num">{c.objects_per_image.toFixed(2)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

function TagSection(props: { tags: TagRecord["tag"][] }) {
  const { tags } = props;
  const names = tags.map((t) => t.name);
  const config: ChartConfiguration<"bar"> = {
    type: "bar",
    data: {
      labels: names,
      datasets: [
        { label: "Images", data: tags.map((t) => t.total_images), backgroundColor: "#3656d6", borderRadius: 3 },
        {
          label: "Objects",
          data: tags.map((t) => t.total_annotation_objects),
          backgroundColor: "#9aa9e8",
          borderRadius: 3,
        },
      ],
    },
    options: {
      indexAxis: "y",
      maintainAspectRatio: false,
      plugins: { legend: { position: "bottom" } },
      scales: { x: { beginAtZero: true, ticks: { precision: 0 } }, y: { ticks: { autoSkip: false } } },
    },
  };
  return (
    <section class="panel insights-section" aria-labelledby="tags-h">
      <h2 id="tags-h">Tags</h2>
      {tags.length === 0 ? (
        <p class="muted">No image in this set is tagged.</p>
      ) : (
        <div class="insights-pair wide">
          <ChartCanvas
            config={config}
            height={barsHeight(names.length, 40) + 30}
            label="Images and objects per tag"
            testId="chart-tags"
          />
          <table aria-label="Images and objects per tag" data-testid="tag-table">
            <thead>
              <tr>
                <th>Tag</th>
                <th class="num">Images</th>
                <th class="num">Objects</th>
              </tr>
            </thead>
            <tbody>
              {tags.map((t) => (
                <tr key={t.name}>
                  <td>{t.name}</td>
                  <td class="num">{fmt(t.total_images)}</td>
                  <td class="num">{fmt(t.total_annotation_objects)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

/**
 * Classes split by tags: the person picks tags; `?split_by_tags=` gives, per class, its count on the images that carry
 * each picked tag — the class's rows in the set, so objects for detection and segmentation, images for
 * classification (as the class counts above; src/services/annotations/set-views.ts `setInsights`). Grouped bars (a
 * colour per tag) and a class × tag table.
 */
function SplitSection(props: { tags: string[]; classes: string[]; task: string }) {
  const unit = props.task === "image_classification" ? "Images" : "Objects";
  const [picked, setPicked] = useState<string[]>(() => props.tags.slice(0, 3));
  const [split, setSplit] = useState<{ tags: string[]; rows: ClassRecord[] } | null>(null);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    if (!picked.length) {
      setSplit({ tags: [], rows: [] });
      return;
    }
    const ctl = new AbortController();
    const q = encodeURIComponent(picked.join(","));
    api<Insights>(`/api/v1/ui/annotation-sets/${setId}/insights/?split_by_tags=${q}`, { signal: ctl.signal })
      .then((r) => {
        setError(null);
        setSplit({
          tags: picked,
          rows: r.results.filter((x): x is ClassRecord => x.record_type === "class"),
        });
      })
      .catch((e) => {
        if (!ctl.signal.aborted) setError(e);
      });
    return () => ctl.abort();
  }, [picked.join("\n")]);

  const toggle = (tag: string) =>
    setPicked((p) =>
      p.includes(tag) ? p.filter((t) => t !== tag) : props.tags.filter((t) => p.includes(t) || t === tag),
    );

  const config = useMemo<ChartConfiguration<"bar"> | null>(() => {
    if (!split || !split.tags.length || !split.rows.length) return null;
    return {
      type: "bar",
      data: {
        labels: split.rows.map((r) => r.class.name),
        datasets: split.tags.map((t, i) => ({
          label: t,
          data: split.rows.map((r) => r.split_by_tags?.[t] ?? 0),
          backgroundColor: TAG_PALETTE[i % TAG_PALETTE.length],
          borderRadius: 3,
        })),
      },
      options: {
        maintainAspectRatio: false,
        plugins: { legend: { position: "bottom" } },
        scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
      },
    };
  }, [split]);

  if (!props.tags.length || !props.classes.length) return null;
  return (
    <section class="panel insights-section" aria-labelledby="split-h">
      <h2 id="split-h">Classes by tag</h2>
      <p class="muted">
        {unit === "Images"
          ? "Images of each class that carry the tag."
          : "Objects of each class on the images that carry the tag."}{" "}
        Pick the tags to compare:
      </p>
      <fieldset class="tag-picker">
        <legend class="visually-hidden">Tags to compare</legend>
        {props.tags.map((t) => (
          <label key={t} class="chip">
            <input type="checkbox" checked={picked.includes(t)} onChange={() => toggle(t)} /> {t}
          </label>
        ))}
      </fieldset>
      {error ? (
        <ErrorBox error={error} />
      ) : !split ? (
        <Loading what="the split" />
      ) : !split.tags.length ? (
        <p class="muted">Pick at least one tag.</p>
      ) : (
        <>
          {config && (
            <ChartCanvas config={config} height={280} label={`${unit} per class and tag`} testId="chart-split" />
          )}
          <div class="table-scroll">
            <table aria-label={`${unit} per class and tag`} data-testid="split-table">
              <thead>
                <tr>
                  <th>Class</th>
                  {split.tags.map((t, i) => (
                    <th class="num" key={t}>
                      <span class="swatch" style={{ background: TAG_PALETTE[i % TAG_PALETTE.length] }} /> {t}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {split.rows.map((r) => (
                  <tr key={r.class.name}>
                    <td>{r.class.name}</td>
                    {split.tags.map((t) => (
                      <td class="num" key={t}>
                        {fmt(r.split_by_tags?.[t] ?? 0)}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}

/** Loads the set, its list statistics and its insights in parallel. @throws HttpError (404 when not yours). */
async function load(): Promise<Loaded> {
  const [set, items, insights] = await Promise.all([
    api<SetDetail>(`/api/v1/ui/annotation-sets/${setId}/`),
    allPages<SetListItem>(`/api/v1/ui/datasets/${datasetId}/annotation-sets/?limit=1000`),
    api<Insights>(`/api/v1/ui/annotation-sets/${setId}/insights/`),
  ]);
  const item = items.find((s) => s.id === setId);
  if (!item) throw Object.assign(new Error("Not found."), { status: 404 });
  return { set, item, insights };
}

function InsightsPage() {
  const [data, setData] = useState<Loaded | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    load().then(setData, setError);
  }, []);

  const classes = useMemo(
    () => (data?.insights.results ?? []).filter((r): r is ClassRecord => r.record_type === "class").map((r) => r.class),
    [data],
  );
  const tags = useMemo(
    () => (data?.insights.results ?? []).filter((r): r is TagRecord => r.record_type === "tag").map((r) => r.tag),
    [data],
  );
  useEffect(() => {
    if (data) document.title = `Insights: ${data.set.name} · Remo`;
  }, [data]);

  const title = data ? (
    <>
      <a href={`/datasets/${datasetId}`}>{data.set.dataset.name}</a>
      <span class="crumb-sep"> / </span>
      <a href={`/annotation/${setId}`}>{data.set.name}</a>
      <span class="crumb-sep"> / </span>
      Insights
    </>
  ) : (
    "Insights"
  );
  return (
    <Layout
      title={title}
      actions={
        data && (
          <>
            <span class="chip">{data.set.task.name}</span>
            <a class="button primary" href={`/annotation/${setId}`}>
              Annotate
            </a>
          </>
        )
      }
    >
      {error ? (
        <ErrorBox error={error} />
      ) : !data ? (
        <Loading what="the insights" />
      ) : (
        <div class="insights">
          <Summary item={data.item} insights={data.insights} classes={classes.length} tags={tags.length} />
          <StatusSection item={data.item} />
          <ClassSection classes={classes} task={data.set.task.type} />
          <TagSection tags={tags} />
          <SplitSection tags={tags.map((t) => t.name)} classes={classes.map((c) => c.name)} task={data.set.task.type} />
        </div>
      )}
    </Layout>
  );
}

mount(<InsightsPage />);
