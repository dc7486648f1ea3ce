import { env } from "cloudflare:test";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectError, expectStatus, post } from "./helpers/api";
import { createDataset, createUser } from "./helpers/factories";
import {
  completeAndWait,
  datasetImages,
  expectedFixtureObjects,
  fixture,
  FIXTURE_IMAGES,
  newSession,
  sessionSetId,
  setObjects,
  waitForSession,
} from "./helpers/upload-helpers";

// The vitest config built a temporary root and serves it with the real local file service (scripts/local-files.mjs).
const vars = env as unknown as Record<string, string | undefined>;
const ROOT = vars.TEST_LOCAL_FILES_ROOT!;
const OUTSIDE = vars.TEST_LOCAL_FILES_OUTSIDE!;

/** Remo's SDK (`add_data_to_dataset`): a session, one JSON POST of local_files, complete, then polling. */
async function linkLocalFiles(
  key: string,
  datasetId: number,
  localFiles: string[],
  fields: Record<string, unknown> = {},
) {
  const sid = await newSession(key, datasetId);
  await expectStatus(
    post(`/api/dataset/${datasetId}/upload/`, { session_id: sid, local_files: localFiles, ...fields }, key),
    200,
  );
  return { sid, status: await completeAndWait(key, sid) };
}

describe("local_files under `npm start`: paths on the user's disk, through the local file service", () => {
  beforeAll(() => {
    vars.LOCAL_FILES_URL = vars.TEST_LOCAL_FILES_URL;
    vars.LOCAL_FILES_SECRET = vars.TEST_LOCAL_FILES_SECRET;
  });
  afterAll(() => {
    delete vars.LOCAL_FILES_URL;
    delete vars.LOCAL_FILES_SECRET;
  });

  it("imports a folder (walked recursively, dot-files skipped) and a CSV end to end, as the tutorials call it", async () => {
    const u = await createUser();
    const ds = await createDataset(u);
    const { sid, status: s } = await linkLocalFiles(
      u.key,
      ds.id,
      [`${ROOT}/dataset/images`, `${ROOT}/dataset/annotations.csv`],
      { annotation_task: "Object detection" },
    );
    expect(s.status, JSON.stringify(s)).toBe("done");
    expect(s.errors).toEqual([]);
    expect(s.images).toMatchObject({ total: 7, successful: 7, failed: 0 });
    expect(s.annotations).toMatchObject({ total: 1, successful: 1, failed: 0 });
    expect(s.uploaded.images.items).toBe(7);
    expect(s.uploaded.annotations.items).toBe(1);
    const imgs = await datasetImages(ds.id);
    expect(imgs.map((i) => i.original_name)).toEqual([...FIXTURE_IMAGES].sort());
    // Copied into the bucket at their content address: the Worker serves images from R2, never from the disk.
    for (const i of imgs) expect([i.linked, i.r2_key]).toEqual([0, `images/${i.sha256}`]);
    const original = await fixture(`images/${imgs[0].original_name}`);
    const stored = await env.BUCKET.get(imgs[0].r2_key);
    expect(new Uint8Array(await stored!.arrayBuffer())).toEqual(original);
    expect(await setObjects(await sessionSetId(sid))).toEqual(await expectedFixtureObjects());
  });

  it("reads an archive on disk, and still takes relative entries as bucket keys", async () => {
    const u = await createUser();
    const ds = await createDataset(u);
    const key = `incoming/${crypto.randomUUID()}/extra.jpg`;
    await env.BUCKET.put(key, await fixture("images/" + FIXTURE_IMAGES[0]));
    const { status: s } = await linkLocalFiles(u.key, ds.id, [`${ROOT}/archived/images.zip`, key]);
    expect(s.uploaded.archives.items).toBe(1);
    const imgs = await datasetImages(ds.id);
    expect(imgs.map((i) => i.original_name)).toEqual([...FIXTURE_IMAGES, "extra.jpg"].sort());
    expect(imgs.find((i) => i.original_name === "extra.jpg")).toMatchObject({ linked: 1, r2_key: key });
    expect(s.status, JSON.stringify(s)).toBe("done");
  });

  it("reads a class encoding's local_path from the disk too (the SDK sends it when class_encoding is a file)", async () => {
    const u = await createUser();
    const ds = await createDataset(u);
    const { sid, status: s } = await linkLocalFiles(
      u.key,
      ds.id,
      [`${ROOT}/dataset/images/${FIXTURE_IMAGES[0]}`, `${ROOT}/encoded/boxes.csv`],
      {
        annotation_task: "Object detection",
        class_encoding: { type: "custom", local_path: `${ROOT}/encoded/labels.csv` },
      },
    );
    expect(s.status, JSON.stringify(s)).toBe("done");
    expect([...(await setObjects(await sessionSetId(sid))).values()]).toEqual([["Pear"]]);
  });

  it("refuses '..', paths outside the root, hidden files and symlinks out of it or to hidden ones, each with its own error, and reads the rest", async () => {
    const u = await createUser();
    const ds = await createDataset(u);
    const dotdot = `${ROOT}/dataset/../../outside/secret.jpg`;
    const { status: s } = await linkLocalFiles(u.key, ds.id, [
      `${ROOT}/escapes`,
      dotdot,
      `${OUTSIDE}/secret.jpg`,
      `${ROOT}/escapes/link-out.jpg`,
      `${ROOT}/nothing-here.jpg`,
      `${ROOT}/.secret/key.jpg`,
      `${ROOT}/dataset/images/.DS_Store`,
    ]);
    expect(s.status).toBe("failed");
    const byPath = Object.fromEntries(s.errors.map((e: any) => [e.value, e.error]));
    expect(s.errors.every((e: any) => e.type === "file" && e.error.startsWith(`${e.value}: `))).toBe(true);
    expect(byPath[dotdot]).toMatch(/'\.\.' is not allowed/);
    expect(byPath[`${OUTSIDE}/secret.jpg`]).toMatch(/outside the local files root/);
    expect(byPath[`${ROOT}/escapes/link-out.jpg`]).toMatch(/symlink that leads outside the local files root/);
    expect(byPath[`${ROOT}/escapes/dir-out`]).toMatch(/symlink that leads outside the local files root/);
    expect(byPath[`${ROOT}/nothing-here.jpg`]).toMatch(/no such file or directory/);
    expect(byPath[`${ROOT}/.secret/key.jpg`]).toMatch(/hidden files and folders/);
    expect(byPath[`${ROOT}/dataset/images/.DS_Store`]).toMatch(/hidden files and folders/);
    expect(byPath[`${ROOT}/escapes/to-hidden.jpg`]).toMatch(/a symlink to a hidden file/);
    // The folder's own symlinks out are refused once, as listed; the one given by name is refused once more.
    expect(s.errors).toHaveLength(9);
    // A symlink that stays inside the root is a file like another.
    expect((await datasetImages(ds.id)).map((i) => i.original_name)).toEqual(["inside-link.jpg"]);
  });

  it("lists at most 100 refusals of one folder, then says there are more", async () => {
    const u = await createUser();
    const ds = await createDataset(u);
    const { status: s } = await linkLocalFiles(u.key, ds.id, [`${ROOT}/many-bad`]);
    expect(s.status).toBe("failed");
    expect(s.errors).toHaveLength(101);
    expect(s.errors[0].error).toMatch(/out-0000: a symlink that leads outside/);
    expect(s.errors[100].error).toMatch(/and more errors, not listed/);
  });

  it("keeps the SSRF rules for URLs: the file service's origin is exempt only for local_files, and wants its secret", async () => {
    const u = await createUser();
    const ds = await createDataset(u);
    const url = `${vars.TEST_LOCAL_FILES_URL}/file?path=${encodeURIComponent(`${ROOT}/dataset/annotations.csv`)}`;
    const r = await expectStatus(post(`/api/dataset/${ds.id}/upload/`, { urls: [url], complete: true }, u.key), 200);
    const s = await waitForSession(u.key, r.session_id);
    expect(s.errors).toEqual([
      { type: "url", value: url, error: "Failed download from URL, error: address 127.0.0.1 is private" },
    ]);
    const direct = await fetch(url);
    expect(direct.status).toBe(401);
  });

  it("still refuses relative keys that reach the API's own objects", async () => {
    const u = await createUser();
    const ds = await createDataset(u);
    const body = await expectError(post(`/api/dataset/${ds.id}/upload/`, { local_files: ["images/"] }, u.key), 400);
    expect(body.error).toMatch(/local_files: images\/: 'images\/' holds this API's own objects/);
  });
});

describe("local_files deployed (no local file service): bucket keys and prefixes only", () => {
  it("answers an absolute path that is not a key with what it is and paths_to_upload", async () => {
    expect(vars.LOCAL_FILES_URL).toBeUndefined();
    const u = await createUser();
    const ds = await createDataset(u);
    const paths = [`${ROOT}/dataset/annotations.csv`, `${ROOT}/dataset/images/`, "C:\\Users\\ada\\data\\a.jpg"];
    const { status: s } = await linkLocalFiles(u.key, ds.id, paths);
    expect(s.status).toBe("failed");
    expect(s.errors.map((e: any) => e.value).sort()).toEqual([...paths].sort());
    for (const e of s.errors) {
      expect(e.error).toMatch(/not a key in this server's bucket, and this server cannot read files on your disk/);
      expect(e.error).toMatch(/paths_to_upload/);
    }
    expect(await datasetImages(ds.id)).toHaveLength(0);
  });

  it("refuses '..' in a path as a bucket key, for the whole request", async () => {
    const u = await createUser();
    const ds = await createDataset(u);
    await expectError(
      post(`/api/dataset/${ds.id}/upload/`, { local_files: [`${ROOT}/../outside/secret.jpg`] }, u.key),
      400,
      /'\.\.' is not allowed/,
    );
  });
});
