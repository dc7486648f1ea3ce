import { datasetD1 } from "./helpers/dataset-rows";
import { env } from "cloudflare:test";
import { zipSync } from "fflate";
import { afterEach, describe, expect, it, vi } from "vitest";
import { outbound } from "../src/services/ingest/item";
import { call, expectError, expectStatus, post } from "./helpers/api";
import { createDataset, createUser } from "./helpers/factories";
import {
  datasetImages,
  fixture,
  FIXTURE_IMAGES,
  newSession,
  stubInternet,
  uploadMultipart,
  waitForSession,
  zip,
} from "./helpers/upload-helpers";

afterEach(() => {
  vi.restoreAllMocks();
  outbound.timeoutMs = 30_000;
  outbound.maxBytes = 1024 * 1024 * 1024;
});

const img = (i = 0) => fixture(`images/${FIXTURE_IMAGES[i]}`);

async function uploadAndWait(
  files: { name: string; bytes: Uint8Array | string }[],
  fields: Record<string, string> = {},
) {
  const u = await createUser();
  const ds = await createDataset(u);
  const r = await expectStatus(uploadMultipart(u.key, ds.id, files, { complete: "true", ...fields }), 200);
  return { u, ds, s: await waitForSession(u.key, r.session_id), sid: r.session_id as string };
}

const messages = (s: any) => [
  ...s.errors.map((e: any) => e.error),
  ...s.images.errors.flatMap((e: any) => e.errors),
  ...s.annotations.errors.flatMap((e: any) => e.errors),
];

describe("bad input: the request", () => {
  it("answers 415 with Remo's text for an unsupported content type", async () => {
    const u = await createUser();
    const ds = await createDataset(u);
    const body = await expectError(
      call("POST", `/api/dataset/${ds.id}/upload/`, {
        key: u.key,
        body: "hello",
        headers: { "content-type": "text/plain" },
      }),
      415,
    );
    expect(body.error).toBe("Not supported payload format: text/plain");
  });

  it("answers 400 for a non-integer annotation_set_id, 404 for a set of another dataset, 400 for malformed JSON and unknown tasks", async () => {
    const u = await createUser();
    const ds = await createDataset(u);
    await expectError(
      post(`/api/dataset/${ds.id}/upload/?annotation_set_id=abc`, { urls: [] }, u.key),
      400,
      "Annotation_set_id should be integer value.",
    );
    await expectError(
      post(`/api/dataset/${ds.id}/upload/?annotation_set_id=999999`, { urls: [] }, u.key),
      404,
      `Annotation set #999999 was not found in Dataset #${ds.id}`,
    );
    await expectError(
      call("POST", `/api/dataset/${ds.id}/upload/`, {
        key: u.key,
        body: "{nope",
        headers: { "content-type": "application/json" },
      }),
      400,
    );
    await expectError(
      post(`/api/dataset/${ds.id}/upload/`, { annotation_task: "Pose estimation", urls: [] }, u.key),
      400,
      /annotation_task/,
    );
    await expectError(post(`/api/dataset/${ds.id}/upload/`, { urls: "not-a-list" }, u.key), 400, /urls/);
  });

  it("answers 400 naming class_encoding for an unknown encoding type, JSON or multipart, and stages nothing", async () => {
    const u = await createUser();
    const ds = await createDataset(u);
    for (const bad of ["bogus", { type: "bogus" }, { type: 3 }])
      await expectError(
        post(`/api/dataset/${ds.id}/upload/`, { local_files: ["a/b.jpg"], class_encoding: bad }, u.key),
        400,
        /class_encoding: type .* is not one of autodetect, custom, WordNet, GoogleKnowledgeGraph/,
      );
    const before = (await env.BUCKET.list({ prefix: "uploads/" })).objects.length;
    await expectError(
      uploadMultipart(u.key, ds.id, [{ name: "a.jpg", bytes: await img() }], { class_encoding_type: "Bogus" }),
      400,
      /class_encoding/,
    );
    expect((await env.BUCKET.list({ prefix: "uploads/" })).objects.length).toBe(before);
    // Remo's names in any letter case are accepted.
    for (const ok of ["wordnet", { type: "GoogleKnowledgeGraph" }, { type: "custom", raw_content: ["a,b"] }])
      await expectStatus(
        post(`/api/dataset/${ds.id}/upload/`, { local_files: ["a/b.jpg"], class_encoding: ok }, u.key),
        200,
      );
  });

  it("answers 413 when the declared body is over 100 MB", async () => {
    const u = await createUser();
    const ds = await createDataset(u);
    const req = new Request(`http://remo.test/api/dataset/${ds.id}/upload/`, {
      method: "POST",
      headers: {
        authorization: `Token ${u.key}`,
        "content-type": "multipart/form-data; boundary=x",
        "content-length": String(101 * 1024 * 1024),
      },
      body: "--x--\r\n",
    });
    const { exports } = await import("cloudflare:workers");
    await expectError((exports as any).default.fetch(req), 413, /direct uploads/);
  });

  it("completing twice: the second is a 404, and appending to a started session is a 409", async () => {
    const u = await createUser();
    const ds = await createDataset(u);
    const sid = await newSession(u.key, ds.id);
    await expectStatus(
      uploadMultipart(u.key, ds.id, [{ name: "a.jpg", bytes: await img() }], { session_id: sid }),
      200,
    );
    await expectStatus(post(`/api/v1/ui/uploads/${sid}/complete/`, {}, u.key), 200);
    await expectError(post(`/api/v1/ui/uploads/${sid}/complete/`, {}, u.key), 404, /already completed/);
    await expectError(
      uploadMultipart(u.key, ds.id, [{ name: "b.jpg", bytes: await img(1) }], { session_id: sid }),
      409,
    );
    const s = await waitForSession(u.key, sid);
    expect(s.status).toBe("done");
    expect(s.images.successful).toBe(1);
  });
});

describe("bad input: files", () => {
  it("a file that is neither an image nor an annotation format is a session error naming it; the rest is ingested", async () => {
    const { s, ds } = await uploadAndWait([
      { name: "notes.bin", bytes: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]) },
      { name: "ok.jpg", bytes: await img() },
    ]);
    expect(s.status).toBe("failed");
    expect(s.errors).toEqual([
      { type: "file", value: "notes.bin", error: "notes.bin: not an image, a supported archive or an annotation file" },
    ]);
    expect((await datasetImages(ds.id)).map((i) => i.original_name)).toEqual(["ok.jpg"]);
  });

  it("a truncated JPEG is an image error, and no row or blob is left for it", async () => {
    const full = await img(2);
    const { s, ds } = await uploadAndWait([{ name: "cut.jpg", bytes: full.slice(0, Math.floor(full.length / 2)) }]);
    expect(s.status).toBe("failed");
    expect(s.images).toMatchObject({ total: 1, successful: 0, failed: 1 });
    expect(s.images.errors).toEqual([{ filename: "cut.jpg", errors: ["truncated image (no JPEG end marker)"] }]);
    expect(await datasetImages(ds.id)).toEqual([]);
  });

  it("a zip with ../ and absolute entries and a symlink refuses those entries and keeps the others", async () => {
    const good = await img();
    const z = zipSync({
      "ok/good.jpg": [good, { level: 0 }],
      "../evil.jpg": [good, { level: 0 }],
      "/etc/abs.jpg": [good, { level: 0 }],
      "link.jpg": [new TextEncoder().encode("/etc/passwd"), { level: 0, os: 3, attrs: (0o120777 << 16) >>> 0 }],
    });
    const { s, ds } = await uploadAndWait([{ name: "bad.zip", bytes: z }]);
    expect(s.status).toBe("failed");
    const errs = s.errors.map((e: any) => e.error).sort();
    expect(errs).toEqual([
      "bad.zip: entry ../evil.jpg refused (path traversal (..))",
      "bad.zip: entry /etc/abs.jpg refused (absolute path)",
      "bad.zip: entry link.jpg refused (symbolic link)",
    ]);
    expect((await datasetImages(ds.id)).map((i) => i.original_name)).toEqual(["good.jpg"]);
  });

  it("a zip bomb is refused by its ratio, by its declared total, and by an entry inflating past its header", async () => {
    const zeros = new Uint8Array(20 * 1024 * 1024);
    const ratio = zipSync({ "zeros.bin": zeros }, { level: 9 });
    // Three entries whose central-directory sizes claim 4 GB each (12 GB > the 8 GB cap).
    const total = zipSync(
      { "a.jpg": new Uint8Array(10), "b.jpg": new Uint8Array(10), "c.jpg": new Uint8Array(10) },
      { level: 0 },
    );
    patchCentralSizes(total, () => 0xf0000000);
    // An entry that says 1 KB but inflates to 9 MB (a small ratio on paper).
    const liar = zipSync({ "liar.csv": new Uint8Array(9 * 1024 * 1024).fill(65) }, { level: 9 });
    patchCentralSizes(liar, () => 1024);
    const { s } = await uploadAndWait(
      [
        { name: "ratio.zip", bytes: ratio },
        { name: "total.zip", bytes: total },
        { name: "liar.zip", bytes: liar },
      ],
      { annotation_task: "Object detection" },
    );
    expect(s.status).toBe("failed");
    const errs = s.errors.map((e: any) => e.error).join("\n");
    expect(errs).toMatch(/ratio.zip: compression ratio \d+:1 is over the 100:1 cap/);
    expect(errs).toMatch(/total.zip: expands to \d+ bytes, over the \d+ byte cap/);
    expect(errs).toMatch(/liar.zip: liar.csv: liar.csv inflates past its declared size/);
  });

  it("archives nested past the depth cap are not extracted; shallower ones are", async () => {
    const a = await img(0);
    const b = await img(1);
    let nested = zip({ "deep.jpg": a });
    for (let i = 0; i < 4; i++) nested = zip({ [`level${i}.zip`]: nested });
    const two = zip({ "inner.zip": zip({ "shallow.jpg": b }) });
    const { s, ds } = await uploadAndWait([
      { name: "deep.zip", bytes: nested },
      { name: "two.zip", bytes: two },
    ]);
    expect(s.status).toBe("failed");
    expect(s.errors.map((e: any) => e.error)).toEqual(["archive nested deeper than 3 levels: not extracted"]);
    expect((await datasetImages(ds.id)).map((i) => i.original_name)).toEqual(["shallow.jpg"]);
  });

  it("tar and tar.gz archives are walked; a tar symlink is refused", async () => {
    const a = await img(0);
    const b = await img(1);
    const tar = makeTar([
      { name: "dir/a.jpg", data: a },
      { name: "evil", data: new Uint8Array(0), type: "2", link: "/etc/passwd" },
    ]);
    const tgz = new Uint8Array(
      await new Response(
        new Blob([makeTar([{ name: "b.jpg", data: b }])]).stream().pipeThrough(new CompressionStream("gzip")),
      ).arrayBuffer(),
    );
    const { s, ds } = await uploadAndWait([
      { name: "a.tar", bytes: tar },
      { name: "b.tar.gz", bytes: tgz },
    ]);
    expect(s.errors.map((e: any) => e.error)).toEqual(["a.tar: entry evil refused (link)"]);
    expect((await datasetImages(ds.id)).map((i) => i.original_name)).toEqual(["a.jpg", "b.jpg"]);
  });
});

describe("bad input: more archives and bodies", () => {
  it("a truncated zip, a bzip2 archive, an encrypted entry and an empty file are each reported; nothing half-added", async () => {
    const good = await img();
    const whole = zip({ "x.jpg": good });
    const enc = zip({ "secret.jpg": good, "open.jpg": await img(1) });
    // Set the "encrypted" flag of the first central-directory entry.
    const dv = new DataView(enc.buffer, enc.byteOffset, enc.byteLength);
    for (let i = 0; i + 4 <= enc.length; i++)
      if (dv.getUint32(i, true) === 0x02014b50) {
        dv.setUint16(i + 8, dv.getUint16(i + 8, true) | 1, true);
        break;
      }
    const { s, ds } = await uploadAndWait([
      { name: "cut.zip", bytes: whole.slice(0, whole.length - 30) },
      { name: "old.bz2", bytes: new Uint8Array([0x42, 0x5a, 0x68, 0x39, 1, 2, 3]) },
      { name: "enc.zip", bytes: enc },
      { name: "empty.jpg", bytes: new Uint8Array(0) },
    ]);
    expect(s.status).toBe("failed");
    expect(s.errors.map((e: any) => e.error).sort()).toEqual([
      "cut.zip: not a zip file (no end of central directory): truncated or corrupt",
      "empty.jpg: empty file",
      "enc.zip: entry secret.jpg refused (encrypted entry)",
      "old.bz2: bzip2 archives are not supported (use zip, tar, tar.gz or gz)",
    ]);
    expect((await datasetImages(ds.id)).map((i) => i.original_name)).toEqual(["open.jpg"]);
  });

  it("a multipart body without a boundary is a 400", async () => {
    const u = await createUser();
    const ds = await createDataset(u);
    await expectError(
      call("POST", `/api/dataset/${ds.id}/upload/`, {
        key: u.key,
        body: "abc",
        headers: { "content-type": "multipart/form-data" },
      }),
      400,
      /boundary/,
    );
  });
});

describe("bad input: bucket keys", () => {
  it("a local_files key that does not exist, and a prefix with nothing under it, are session errors", async () => {
    const u = await createUser();
    const ds = await createDataset(u);
    const key = `nowhere/${crypto.randomUUID()}.jpg`;
    const prefix = `empty/${crypto.randomUUID()}/`;
    const r = await expectStatus(
      post(`/api/dataset/${ds.id}/upload/`, { local_files: [key, prefix], complete: true }, u.key),
      200,
    );
    const s = await waitForSession(u.key, r.session_id);
    expect(s.status).toBe("failed");
    expect(s.errors).toEqual([
      { type: "file", value: prefix, error: `${prefix}: no objects under this prefix` },
      { type: "file", value: key, error: `${key}: no such object in the bucket` },
    ]);
  });
});

describe("bad input: URLs", () => {
  it("refuses private, loopback, link-local and metadata addresses without fetching them", async () => {
    const spy = stubInternet({}, { "internal.example.com": "10.0.0.5", "v6.example.com": "fd00::1" });
    const u = await createUser();
    const ds = await createDataset(u);
    const urls = [
      "http://127.0.0.1/a.jpg",
      "http://169.254.169.254/latest/meta-data/",
      "http://[::1]/a.jpg",
      "http://localhost:8080/a.jpg",
      "http://internal.example.com/a.jpg",
      "http://v6.example.com/a.jpg",
      "ftp://example.com/a.jpg",
    ];
    const r = await expectStatus(post(`/api/dataset/${ds.id}/upload/`, { urls, complete: true }, u.key), 200);
    const s = await waitForSession(u.key, r.session_id);
    expect(s.status).toBe("failed");
    expect(s.errors.map((e: any) => e.value)).toEqual(urls);
    for (const e of s.errors)
      expect(e).toMatchObject({ type: "url", error: expect.stringMatching(/^Failed download from URL, error: /) });
    const fetched = spy.mock.calls.map((c) => String(c[0] instanceof Request ? c[0].url : c[0]));
    expect(fetched.filter((f) => !f.startsWith("https://cloudflare-dns.com/"))).toEqual([]);
  });

  it("a URL that times out, answers 404, or sends 2 GB is a session error; the good one is ingested", async () => {
    const good = await img();
    outbound.timeoutMs = 300;
    stubInternet({
      "https://ok.example.com/good.jpg": () => new Response(good),
      "https://ok.example.com/missing.jpg": () => new Response("no", { status: 404 }),
      "https://ok.example.com/huge.bin": () =>
        new Response(new ReadableStream({ pull: (c) => c.enqueue(new Uint8Array(1024)) }), {
          headers: { "content-length": String(2 * 1024 ** 3) },
        }),
      "https://ok.example.com/endless.bin": () =>
        new Response(new ReadableStream({ pull: (c) => c.enqueue(new Uint8Array(64 * 1024)) })),
    });
    // A host that never answers: only the abort signal ends it.
    const slow = "https://slow.example.com/never.jpg";
    const base = (globalThis.fetch as any).getMockImplementation();
    (globalThis.fetch as any).mockImplementation((input: any, init?: RequestInit) =>
      String(input) === slow
        ? new Promise((_, reject) => init?.signal?.addEventListener("abort", () => reject(init.signal!.reason)))
        : base(input, init),
    );
    outbound.maxBytes = 1024 * 1024;
    const u = await createUser();
    const ds = await createDataset(u);
    const urls = [
      "https://ok.example.com/good.jpg",
      "https://ok.example.com/missing.jpg",
      "https://ok.example.com/huge.bin",
      "https://ok.example.com/endless.bin",
      slow,
    ];
    const r = await expectStatus(post(`/api/dataset/${ds.id}/upload/`, { urls, complete: "True" }, u.key), 200);
    const s = await waitForSession(u.key, r.session_id);
    const byUrl = Object.fromEntries(s.errors.map((e: any) => [e.value, e.error]));
    expect(byUrl).toEqual({
      "https://ok.example.com/missing.jpg": "Failed download from URL, error: HTTP 404",
      "https://ok.example.com/huge.bin": `Failed download from URL, error: ${2 * 1024 ** 3} bytes is over the ${1024 * 1024} byte limit`,
      "https://ok.example.com/endless.bin": `Failed download from URL, error: over the ${1024 * 1024} byte limit`,
      [slow]: "Failed download from URL, error: timed out after 0.3 s",
    });
    expect((await datasetImages(ds.id)).map((i) => i.original_name)).toEqual(["good.jpg"]);
  });
});

describe("bad input: annotation files", () => {
  async function withImage(files: { name: string; bytes: string }[], task = "Object detection") {
    return uploadAndWait([{ name: FIXTURE_IMAGES[1], bytes: await img(1) }, ...files], { annotation_task: task });
  }

  it("a CSV with missing columns is not recognised for the task", async () => {
    const { s } = await withImage([{ name: "boxes.csv", bytes: "file_name,xmin,ymin\n001a809ad40a2f84.jpg,1,2\n" }]);
    expect(s.status).toBe("failed");
    expect(s.annotations.errors).toEqual([
      {
        filename: "boxes.csv",
        errors: [
          "Annotation format for Object detection not recognised for file 'boxes.csv'. Please check the documentation to see supported formats.",
        ],
      },
    ]);
    expect(s.images.successful).toBe(1);
  });

  it("COCO: annotations whose image_id points nowhere are reported; the valid ones are imported", async () => {
    const coco = {
      images: [{ id: 1, file_name: FIXTURE_IMAGES[1] }],
      categories: [{ id: 3, name: "car" }],
      annotations: [
        { id: 1, image_id: 1, category_id: 3, bbox: [10, 20, 30, 40], segmentation: [], area: 1200, iscrowd: 0 },
        { id: 2, image_id: 42, category_id: 3, bbox: [1, 2, 3, 4], segmentation: [], area: 12, iscrowd: 0 },
      ],
    };
    const { s, sid } = await withImage([{ name: "coco.json", bytes: JSON.stringify(coco) }]);
    expect(s.annotations.warnings).toEqual([
      { filename: "coco.json", warnings: ["1 image_id(s) referenced by annotations are not in images[]: 42"] },
    ]);
    expect(s.status).toBe("done");
    const setId = (
      await env.DB.prepare("SELECT annotation_set_id AS id FROM upload_sessions WHERE id = ?").bind(sid).first<any>()
    ).id;
    const objs = await datasetD1({ setId }).prepare("SELECT coordinates FROM annotation_objects WHERE set_id = ?")
      .bind(setId)
      .all<any>();
    expect(objs.results.map((o) => JSON.parse(o.coordinates))).toEqual([[10, 20, 40, 60]]);

    const none = { ...coco, annotations: [coco.annotations[1]] };
    const bad = await withImage([{ name: "none.json", bytes: JSON.stringify(none) }]);
    expect(bad.s.status).toBe("failed");
    expect(bad.s.annotations.errors[0].errors[0]).toMatch(/none.json' has no usable annotation: 1 image_id/);
  });

  it("XML with entity declarations is refused, never expanded", async () => {
    const xml = `<?xml version="1.0"?><!DOCTYPE a [<!ENTITY lol "lollollollol"><!ENTITY lol2 "&lol;&lol;&lol;">]>
      <annotation><filename>${FIXTURE_IMAGES[1]}</filename><size><width>10</width><height>10</height></size>
      <object><name>&lol2;</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>5</xmax><ymax>5</ymax></bndbox></object></annotation>`;
    const { s } = await withImage([{ name: "voc.xml", bytes: xml }]);
    expect(s.status).toBe("failed");
    expect(s.annotations.errors).toEqual([
      { filename: "voc.xml", errors: ["voc.xml: XML with DOCTYPE or ENTITY declarations is not accepted"] },
    ]);
    const cls = await env.DB.prepare("SELECT COUNT(*) AS n FROM classes WHERE name LIKE 'Lol%'").first<any>();
    expect(cls.n).toBe(0);
  });

  it("annotations for images not in the dataset are listed as Remo does", async () => {
    const { s } = await withImage([
      { name: "a.csv", bytes: "file_name,class_name,xmin,ymin,xmax,ymax\nghost.jpg,Car,1,2,3,4\n" },
    ]);
    expect(s.status).toBe("failed");
    expect(s.annotations.errors).toEqual([
      {
        filename: "a.csv",
        errors: [
          "Annotations without matching image. Annotation file 'a.csv' has annotations for 'ghost.jpg', which can't be found in the dataset.",
        ],
      },
    ]);
    expect(s.annotations).toMatchObject({ total: 1, failed: 1, successful: 0 });
  });

  it("annotation files without a task are ignored with a warning", async () => {
    const u = await createUser();
    const ds = await createDataset(u);
    const r = await expectStatus(
      uploadMultipart(u.key, ds.id, [{ name: "a.csv", bytes: "file_name,tag\nx.jpg,a\n" }], { complete: "true" }),
      200,
    );
    const s = await waitForSession(u.key, r.session_id);
    expect(s.status).toBe("done");
    expect(s.warnings).toEqual([
      {
        type: "file",
        value: "a.csv",
        warning: "a.csv: annotation file ignored, no annotation task or annotation set was given",
      },
    ]);
  });
});

/** Overwrites each central-directory entry's uncompressed size (fflate writes no zip64 for small files). */
function patchCentralSizes(z: Uint8Array, size: (i: number) => number) {
  const dv = new DataView(z.buffer, z.byteOffset, z.byteLength);
  let n = 0;
  for (let i = 0; i + 4 <= z.length; i++)
    if (dv.getUint32(i, true) === 0x02014b50) dv.setUint32(i + 24, size(n++), true);
}

function makeTar(entries: { name: string; data: Uint8Array; type?: string; link?: string }[]): Uint8Array {
  const blocks: Uint8Array[] = [];
  const enc = new TextEncoder();
  for (const e of entries) {
    const h = new Uint8Array(512);
    h.set(enc.encode(e.name), 0);
    h.set(enc.encode("0000644\0"), 100);
    h.set(enc.encode("0000000\0"), 108);
    h.set(enc.encode("0000000\0"), 116);
    h.set(enc.encode(e.data.length.toString(8).padStart(11, "0") + "\0"), 124);
    h.set(enc.encode("00000000000\0"), 136);
    h[156] = (e.type ?? "0").charCodeAt(0);
    if (e.link) h.set(enc.encode(e.link), 157);
    h.set(enc.encode("ustar\0"), 257);
    h.set(enc.encode("00"), 263);
    h.fill(32, 148, 156);
    const sum = h.reduce((a, b) => a + b, 0);
    h.set(enc.encode(sum.toString(8).padStart(6, "0") + "\0 "), 148);
    blocks.push(h);
    const padded = new Uint8Array(Math.ceil(e.data.length / 512) * 512);
    padded.set(e.data);
    blocks.push(padded);
  }
  blocks.push(new Uint8Array(1024));
  const out = new Uint8Array(blocks.reduce((n, b) => n + b.length, 0));
  let o = 0;
  for (const b of blocks) (out.set(b, o), (o += b.length));
  return out;
}
