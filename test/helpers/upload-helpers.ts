import { datasetRows } from "./dataset-rows";
import { env } from "cloudflare:test";
import { zipSync } from "fflate";
import { expect, vi } from "vitest";
import { call, expectStatus, get, post } from "./api";

export const FIXTURE = "remo-object-detection";
export const FIXTURE_IMAGES = [
  "001a794d1865ee47.jpg",
  "001a809ad40a2f84.jpg",
  "00acf53b127218c2.jpg",
  "00b562abdf5766d3.jpg",
  "00b75a8487446cdd.jpg",
  "00d2a568dd4afd0d.jpg",
  "00d9efcc4d1fda53.jpg",
];

export async function fixture(path: string): Promise<Uint8Array> {
  const r = await env.FIXTURES.fetch(`http://fixtures/local/${FIXTURE}/${path}`);
  expect(r.status, path).toBe(200);
  return new Uint8Array(await r.arrayBuffer());
}

export const fixtureText = async (path: string) => new TextDecoder().decode(await fixture(path));

export async function fixtureImages(): Promise<Record<string, Uint8Array>> {
  const out: Record<string, Uint8Array> = {};
  for (const n of FIXTURE_IMAGES) out[n] = await fixture(`images/${n}`);
  return out;
}

export function zip(files: Record<string, Uint8Array | string>, level: 0 | 6 = 0): Uint8Array {
  const enc = new TextEncoder();
  return zipSync(
    Object.fromEntries(Object.entries(files).map(([k, v]) => [k, typeof v === "string" ? enc.encode(v) : v])),
    { level },
  );
}

export interface Part {
  name: string;
  bytes: Uint8Array | string;
}

/** A multipart POST to Remo's upload route, as the SDK sends it (fields, then `files`). */
export function uploadMultipart(
  key: string,
  datasetId: number,
  files: Part[],
  fields: Record<string, string> = {},
  query = "",
) {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  for (const f of files) form.append("files", new Blob([f.bytes]), f.name);
  return call("POST", `/api/dataset/${datasetId}/upload/${query}`, { key, body: form });
}

export async function newSession(key: string, datasetId: number): Promise<string> {
  const s = await expectStatus(post("/api/v1/ui/uploads/", { dataset_id: datasetId }, key), 201);
  return s.session_id;
}

/** Polls the status object as the SDK does, until done or failed. */
export async function waitForSession(key: string, sid: string, timeoutMs = 45_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await expectStatus(get(`/api/v1/ui/uploads/${sid}/status/`, key), 200);
    if (s.status === "done" || s.status === "failed") return s;
    if (Date.now() > deadline) throw new Error(`session still ${s.status}: ${JSON.stringify(s).slice(0, 1500)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function completeAndWait(key: string, sid: string) {
  await expectStatus(post(`/api/v1/ui/uploads/${sid}/complete/`, {}, key), 200);
  return waitForSession(key, sid);
}

export async function datasetImages(datasetId: number) {
  return datasetRows<{
    id: number;
    original_name: string;
    sha256: string;
    r2_key: string;
    linked: number;
    width: number;
    height: number;
    size: number;
  }>(
    { datasetId },
    "SELECT id, original_name, sha256, r2_key, linked, width, height, size FROM images WHERE dataset_id = ? ORDER BY original_name",
    datasetId,
  );
}

/** Objects of a set as "image|x1,y1,x2,y2" → sorted class names. */
export async function setObjects(setId: number): Promise<Map<string, string[]>> {
  const r = {
    results: await datasetRows<{ img: string; coords: string; classes: string | null }>(
      { setId },
      `SELECT i.original_name AS img, o.coordinates AS coords, group_concat(c.name, '|') AS classes
       FROM annotation_objects o JOIN images i ON i.id = o.image_id
       LEFT JOIN annotation_classes ac ON ac.object_id = o.id LEFT JOIN classes c ON c.id = ac.class_id
       WHERE o.set_id = ? GROUP BY o.id`,
      setId,
    ),
  };
  const out = new Map<string, string[]>();
  for (const row of r.results)
    out.set(`${row.img}|${JSON.parse(row.coords).join(",")}`, (row.classes ?? "").split("|").filter(Boolean).sort());
  return out;
}

/** What the fixture's annotations.csv says, merged as Remo merges (same box on an image → one object). */
/** The fixture's plain-CSV rows, read without the project's importer (tests count expectations from the file). */
export function fixtureCsvRows(text: string) {
  return text
    .trim()
    .split(/\r?\n/)
    .slice(1)
    .map((l) => {
      const [file, cls, ...n] = l.split(",");
      return { file, cls: cls.trim(), box: n.map(Number) };
    });
}

export async function expectedFixtureObjects(): Promise<Map<string, string[]>> {
  const lines = (await fixtureText("annotations/annotations.csv")).trim().split(/\r?\n/).slice(1);
  const out = new Map<string, string[]>();
  for (const l of lines) {
    const [file, cls, ...c] = l.split(",");
    const k = `${file}|${c.map(Number).join(",")}`;
    const list = out.get(k) ?? [];
    const name = cls.trim().charAt(0).toUpperCase() + cls.trim().slice(1).toLowerCase();
    if (!list.includes(name)) list.push(name);
    out.set(k, list.sort());
  }
  return out;
}

export async function setTags(setId: number): Promise<Map<string, string[]>> {
  const r = {
    results: await datasetRows<{ img: string; tag: string }>(
      { setId },
      `SELECT i.original_name AS img, t.name AS tag FROM image_tags it JOIN images i ON i.id = it.image_id JOIN tags t ON t.id = it.tag_id
       WHERE it.set_id = ? ORDER BY i.original_name, t.name`,
      setId,
    ),
  };
  const out = new Map<string, string[]>();
  for (const row of r.results) out.set(row.img, [...(out.get(row.img) ?? []), row.tag]);
  return out;
}

export async function expectedFixtureTags(): Promise<Map<string, string[]>> {
  const lines = (await fixtureText("annotations/images_tags.csv")).trim().split(/\r?\n/).slice(1);
  const out = new Map<string, string[]>();
  for (const l of lines) {
    const [file, tag] = l.split(",");
    out.set(file, [...(out.get(file) ?? []), tag.trim().toLowerCase()].sort());
  }
  return out;
}

export async function sessionSetId(sid: string): Promise<number> {
  const r = await env.DB.prepare("SELECT annotation_set_id FROM upload_sessions WHERE id = ?")
    .bind(sid)
    .first<{ annotation_set_id: number }>();
  return r!.annotation_set_id;
}

/** Outbound internet is stubbed: DNS over HTTPS answers a public address, and `routes` serve the URLs. */
export function stubInternet(
  routes: Record<string, () => Response | Promise<Response>>,
  dns: Record<string, string> = {},
) {
  const real = globalThis.fetch;
  return vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.hostname === "cloudflare-dns.com") {
      const name = url.searchParams.get("name")!;
      const type = url.searchParams.get("type");
      const ip = dns[name] ?? "93.184.216.34";
      const answer =
        type === "A" && !ip.includes(":")
          ? [{ type: 1, data: ip }]
          : type === "AAAA" && ip.includes(":")
            ? [{ type: 28, data: ip }]
            : [];
      return Response.json({ Answer: answer });
    }
    const route = routes[url.toString()];
    if (route) return route();
    if (url.hostname === "fixtures") return real(input as RequestInfo, init);
    return new Response("not found", { status: 404 });
  });
}

/** A set's class names, sorted. */
export const setClassNames = async (setId: number) =>
  (
    await datasetRows<{ name: string }>(
      { setId },
      "SELECT c.name FROM annotation_set_classes sc JOIN classes c ON c.id = sc.class_id WHERE sc.set_id = ? ORDER BY c.name",
      setId,
    )
  ).map((r) => r.name);
