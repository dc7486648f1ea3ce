import { Hono, type Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { ApiError } from "../lib/errors";
import { userForKey } from "../lib/middleware";
import { renderPage } from "../lib/page-shell";
import { readSessionCookie } from "../lib/session-cookie";
import { canWrite, readableDataset } from "../services/access";
import { readableSet } from "../services/annotations/sets";
import { serviceCtx } from "../services/context";
import { readableImage } from "../services/images/access";

/**
 * The web pages, at the paths Remo's SDK opens (remo-reference §2.11, remo-python `remo/endpoints/frontend.py`).
 * Each answers an HTML shell whose script calls the public API; the access check is made here too, so another
 * user's private dataset, image or set is the same 404 as a page as it is in the API. Without a session a page
 * sends the browser to /login, which comes back after.
 */
export const pageRoutes = new Hono<AppEnv>({ strict: false });

/** The session cookie's user on `c.var.user`, or null. Pages never take an Authorization header: browsers send none. */
async function pageUser(c: Context<AppEnv>) {
  const user = await userForKey(c, readSessionCookie(c));
  if (user) c.set("user", user);
  return user;
}

const signedIn = createMiddleware<AppEnv>(async (c, next) => {
  if (await pageUser(c)) return next();
  const url = new URL(c.req.url);
  return c.redirect(`/login?next=${encodeURIComponent(url.pathname + url.search)}`, 302);
});

/** Runs a page's access check; a 404 from it (or a malformed id) becomes the 404 page. */
async function guarded(c: Context<AppEnv>, check: () => Promise<unknown>, render: () => Response) {
  try {
    await check();
  } catch (e) {
    if (e instanceof ApiError && (e.status === 404 || e.status === 400)) return notFoundPage(c);
    throw e;
  }
  return render();
}

/** The 404 page, with the signed-in user's bar when there is a session (a stale link should not look signed out). */
export async function notFoundPage(c: Context<AppEnv>) {
  if (!c.var.user) await pageUser(c);
  return renderPage(c, "not-found", "Not found", {}, 404);
}

const ID = "{[0-9]{1,15}}";

pageRoutes.get("/", (c) => c.redirect("/datasets", 302));

pageRoutes.get("/login", async (c) => {
  await pageUser(c);
  return renderPage(c, "login", "Sign in");
});

pageRoutes.get("/docs", async (c) => {
  await pageUser(c); // open to anyone; a signed-in reader keeps the bar with their name
  return renderPage(c, "docs", "API reference");
});

pageRoutes.get("/datasets", signedIn, (c) => renderPage(c, "datasets", "Datasets"));

pageRoutes.get("/datasets/filtered/images", signedIn, (c) => renderPage(c, "search", "Search"));

pageRoutes.get(`/datasets/:id${ID}`, signedIn, (c) => {
  const id = c.req.param("id");
  return guarded(
    c,
    () => readableDataset(serviceCtx(c), Number(id)),
    () => renderPage(c, "dataset", "Dataset", { dataset_id: id }),
  );
});

// The SDK's Image.view() sends `datasetId`; Remo's docs write `dataset_id`. Either names the dataset; the image's own
// dataset is what the page shows.
pageRoutes.get(`/image/:id${ID}`, signedIn, async (c) => {
  const id = c.req.param("id");
  let datasetId = "";
  return guarded(
    c,
    async () => {
      const img = await readableImage(serviceCtx(c), Number(id));
      datasetId = String(img.datasetId);
    },
    () => renderPage(c, "image", "Image", { image_id: id, dataset_id: datasetId }),
  );
});

/** A set's page: its ids, and `can_edit` (the caller owns the dataset; `canWrite`, the API's own rule). */
async function setPage(c: Context<AppEnv>, entry: string, title: string, extra: Record<string, string> = {}) {
  const setId = c.req.param("set")!;
  let datasetId = "";
  let canEdit = false;
  return guarded(
    c,
    async () => {
      const ctx = serviceCtx(c);
      const { dataset } = await readableSet(ctx, Number(setId));
      datasetId = String(dataset.id);
      canEdit = canWrite(ctx, dataset);
    },
    () => renderPage(c, entry, title, { set_id: setId, dataset_id: datasetId, can_edit: String(canEdit), ...extra }),
  );
}

pageRoutes.get(`/annotation/:set${ID}`, signedIn, (c) => setPage(c, "annotate", "Annotate"));
pageRoutes.get(`/annotation/:set${ID}/image/:image${ID}`, signedIn, (c) =>
  setPage(c, "annotate", "Annotate", { image_id: c.req.param("image")! }),
);
pageRoutes.get(`/annotation-detail/:set${ID}/insights`, signedIn, (c) => setPage(c, "insights", "Insights"));

// Workers static assets answer /assets/... before the Worker runs; a request that reaches the Worker anyway (the
// test runtime's SELF, or a future run_worker_first) is handed to the same assets binding.
pageRoutes.get("/assets/*", async (c) => {
  if (!c.env.ASSETS) return c.json({ detail: "Not found." }, 404);
  return c.env.ASSETS.fetch(c.req.raw);
});
