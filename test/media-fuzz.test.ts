import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { imageUrls } from "../src/lib/image-urls";
import { call, expectStatus, get } from "./helpers/api";
import { createDataset, createUser } from "./helpers/factories";
import { buildJpeg, buildPng, exifSegment, raster } from "./helpers/image-builders";
import { exerciseImage } from "./helpers/fuzz-exercise";
import { mutants } from "./helpers/mutate";
import { datasetImages, uploadMultipart, waitForSession } from "./helpers/upload-helpers";

const local = async (name: string) =>
  new Uint8Array(await (await env.FIXTURES.fetch(`http://fixtures/local/${name}`)).arrayBuffer());

/** The fixture images (baseline, progressive, restart markers, 4:2:2, 4:4:4, grey; palette, 16-bit, RGBA) and
 * corpus-like files built here (EXIF-turned JPEG, PNGs with tRNS and bytes after IEND). */
async function bases(): Promise<{ name: string; bytes: Uint8Array }[]> {
  const names = [
    "media-restart.jpg",
    "media-restart-422.jpg",
    "media-444.jpg",
    "media-gray.jpg",
    "media-progressive.jpg",
    "media-progressive-444.jpg",
    "media-palette.png",
    "media-gray16.png",
    "media-rgba.png",
    "media-gray8.png",
  ];
  const out: { name: string; bytes: Uint8Array }[] = await Promise.all(
    names.map(async (name) => ({ name, bytes: await local(name) })),
  );
  const pic = raster(40, 24, (x, y) => [x * 6, y * 10, 128]);
  out.push({ name: "exif6.jpg", bytes: buildJpeg(pic, [exifSegment(6)]) });
  out.push({
    name: "trns-rgb.png",
    bytes: buildPng(20, 12, 2, 8, (x, y) => [x * 12, y * 20, (x + y) % 2 ? 0 : 255], {
      trns: [0, 0, 0, 0, 0, 255],
      after: new Uint8Array(64).fill(1),
    }),
  });
  out.push({ name: "gray2-trns.png", bytes: buildPng(17, 9, 0, 2, (x, y) => [(x + y) % 4], { trns: [0, 1] }) });
  return out;
}

describe("fuzzed images (fixed seed): every one a 2xx or a 4xx, and the Worker keeps working", () => {
  it("probes, scans, renders and encodes each mutant with nothing but a media error (never another exception)", async () => {
    const all = (await bases()).flatMap((b, k) => mutants(b.name, b.bytes, 1000 + k));
    expect(all.length).toBeGreaterThan(600);
    let worst = { ms: 0, name: "" };
    for (const m of all) {
      const t0 = performance.now();
      exerciseImage(m.name, m.bytes, 64);
      const ms = performance.now() - t0;
      if (ms > worst.ms) worst = { ms, name: m.name };
    }
    // For the record (the figure itself lives in BENCHMARKS.md, from `npm run bench -- fuzz`).
    console.log(`fuzz: ${all.length} mutants, slowest ${worst.name} ${worst.ms.toFixed(1)} ms`);
  });

  it("uploads mutants, renders every one that was ingested through the routes (never 5xx), then serves a valid image", async () => {
    const user = await createUser();
    const ds = await createDataset(user);
    // One mutant of each kind per base, every fourth of them: about 55 files, each through ingestion and 3 renders
    // (the direct test above covers all 668 in the media layer).
    const picked = (await bases())
      .flatMap((b, k) => mutants(b.name, b.bytes, 7000 + k, 1))
      .filter((_, i) => i % 4 === 0);
    const files = picked.map((m, i) => ({ name: `m${i}.${m.name.includes(".png") ? "png" : "jpg"}`, bytes: m.bytes }));
    const r = await expectStatus(uploadMultipart(user.key, ds.id, files, { complete: "true" }), 200);
    const t0 = Date.now();
    const s = await waitForSession(user.key, r.session_id, 120_000);
    console.log(`fuzz upload: ${files.length} files, session ${s.status} in ${Date.now() - t0} ms`);
    expect(["done", "failed"]).toContain(s.status);
    const rows = await datasetImages(ds.id);
    expect(rows.length).toBeGreaterThan(5);
    const statuses = new Map<number, number>();
    for (const row of rows) {
      const links = await expectStatus(call("GET", `/api/v1/ui/images/${row.id}/deepzoom/`, { key: user.key }), 200);
      const base = links.iiif.replace(/\/info\.json$/, "");
      const urls = await imageUrls(env, { id: row.id, originalName: row.original_name });
      for (const path of [
        `${base}/full/max/0/default.jpg`,
        urls.thumbnail,
        `/api/v1/ui/images/${row.id}/downsample/?source_width=${row.width}&source_height=${row.height}&downscale=0.1`,
      ]) {
        const res = await (path.startsWith("/api/") ? call("GET", path, { key: user.key }) : get(path));
        const body = res.status >= 400 ? await res.text() : (await res.arrayBuffer(), "");
        expect(res.status, `${row.original_name} ${path}: ${body.slice(0, 300)}`).toBeLessThan(500);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      }
    }
    console.log(`fuzz renders: ${JSON.stringify([...statuses])} in ${Date.now() - t0} ms`);
    expect(statuses.get(200)).toBeGreaterThan(0);
    // A valid image afterwards.
    const good = buildJpeg(raster(30, 20, () => [200, 10, 10]));
    const again = await expectStatus(
      uploadMultipart(user.key, ds.id, [{ name: "fine.jpg", bytes: good }], { complete: "true" }),
      200,
    );
    expect((await waitForSession(user.key, again.session_id)).status).toBe("done");
    const fine = (await datasetImages(ds.id)).find((i) => i.original_name === "fine.jpg")!;
    const ok = await call(
      "GET",
      `/api/v1/ui/images/${fine.id}/downsample/?source_width=30&source_height=20&downscale=0.5`,
      {
        key: user.key,
      },
    );
    expect(ok.status).toBe(200);
    expect((await get("/healthz")).status).toBe(200);
  }, 240_000);
});
