import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, del, expectError, expectStatus, get, patch, post } from "./helpers/api";
import { createDataset, createUser, insertImage, makePublic } from "./helpers/factories";

describe("datasets", () => {
  it("creates a dataset with 200 and Remo's create fields, and makes a taken name unique as `Name (N)`", async () => {
    const u = await createUser();
    const a = await expectStatus(post("/api/dataset/", { name: "Cars" }, u.key), 200);
    expect(a).toMatchObject({ name: "Cars", is_public: false, is_readonly: false, annotation_sets: [], total_classes: 0, total_annotation_objects: 0, quantity: 0 });
    expect(a.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const b = await expectStatus(post("/api/dataset/", { name: "Cars" }, u.key), 200);
    const c = await expectStatus(post("/api/dataset/", { name: "Cars" }, u.key), 200);
    expect([b.name, c.name]).toEqual(["Cars (1)", "Cars (2)"]);
    // another user's names do not count
    const other = await createUser();
    expect((await expectStatus(post("/api/dataset/", { name: "Cars" }, other.key), 200)).name).toBe("Cars");
    // no name: Remo's default
    expect((await expectStatus(post("/api/dataset/", {}, u.key), 200)).name).toBe("Dataset");
  });

  it("rejects non-JSON bodies and wrong field types with the envelope", async () => {
    const u = await createUser();
    await expectError(call("POST", "/api/dataset/", { key: u.key, body: "name=x", headers: { "content-type": "text/plain" } }), 415);
    await expectError(post("/api/dataset/", { name: 42 }, u.key), 400, /name/);
    await expectError(post("/api/dataset/", { name: "x", is_public: "maybe" }, u.key), 400, /is_public/);
  });

  it("gets a dataset's detail, and 404s a missing or another user's private one with Remo's `Not found.`", async () => {
    const u = await createUser();
    const d = await createDataset(u);
    const got = await expectStatus(get(`/api/v1/ui/datasets/${d.id}/`, u.key), 200);
    expect(got).toMatchObject({ id: d.id, name: d.name, owner: "Test User", quantity: 0 });
    const other = await createUser();
    expect((await expectError(get(`/api/v1/ui/datasets/${d.id}/`, other.key), 404)).detail).toBe("Not found.");
    await expectError(get(`/api/v1/ui/datasets/999999999/`, u.key), 404);
    await expectError(get(`/api/v1/ui/datasets/abc/`, u.key), 400, /id/);
    await expectError(get(`/api/v1/ui/datasets/${d.id}/`), 401);
  });

  it("lists own and public datasets with is_public / is_archived filters and relative next/previous", async () => {
    const u = await createUser();
    const other = await createUser();
    const mine = await createDataset(u, "mine");
    const archived = await createDataset(u, "old");
    await expectStatus(patch(`/api/v1/ui/datasets/${archived.id}/`, { is_archived: true }, u.key), 200);
    const theirsPublic = await createDataset(other, "shared");
    await makePublic(other, theirsPublic.id);
    const theirsPrivate = await createDataset(other, "secret");

    const all = await expectStatus(get("/api/v1/ui/datasets/?limit=1000", u.key), 200);
    const ids = all.results.map((d: { id: number }) => d.id);
    expect(ids).toEqual(expect.arrayContaining([mine.id, archived.id, theirsPublic.id]));
    expect(ids).not.toContain(theirsPrivate.id);

    const active = await expectStatus(get("/api/v1/ui/datasets/?is_archived=false&is_public=False&limit=1000", u.key), 200);
    expect(active.results.map((d: { id: number }) => d.id)).toContain(mine.id);
    expect(active.results.map((d: { id: number }) => d.id)).not.toContain(archived.id);
    expect(active.results.every((d: { is_public: boolean }) => !d.is_public)).toBe(true);

    const pub = await expectStatus(get("/api/v1/ui/datasets/?is_public=true&limit=1000", u.key), 200);
    expect(pub.results.map((d: { id: number }) => d.id)).toContain(theirsPublic.id);
    expect(pub.results.find((d: { id: number }) => d.id === theirsPublic.id).owner).toBe("Test User");

    const page = await expectStatus(get("/api/v1/ui/datasets/?limit=1", u.key), 200);
    expect(page.next).toMatch(/^\/api\/v1\/ui\/datasets\/?\?limit=1&offset=1$/);
    expect(page.previous).toBeNull();
  });

  it("rejects bad list parameters: limit 0, limit over 1000, negative offset, a non-boolean filter", async () => {
    const u = await createUser();
    for (const q of ["limit=0", "limit=1001", "offset=-1", "limit=abc", "is_public=yes"]) {
      await expectError(get(`/api/v1/ui/datasets/?${q}`, u.key), 400);
    }
  });

  it("counts images and shows up to 4 signed relative thumbnails per dataset", async () => {
    const u = await createUser();
    const d = await createDataset(u);
    for (let i = 0; i < 5; i++) await insertImage(d.id);
    const list = await expectStatus(get("/api/v1/ui/datasets/?limit=1000", u.key), 200);
    const item = list.results.find((x: { id: number }) => x.id === d.id);
    expect(item.quantity).toBe(5);
    expect(item.size_in_bytes).toBeGreaterThan(0);
    expect(item.image_thumbnails).toHaveLength(4);
    expect(item.image_thumbnails[0]).toMatch(/^\/files\/images\/\d+\/preview\.jpg\?exp=\d+&sig=[\w-]+$/);
  });

  it("serves the legacy /api/dataset/ list of active datasets only", async () => {
    const u = await createUser();
    const live = await createDataset(u);
    const gone = await createDataset(u);
    await expectStatus(patch(`/api/v1/ui/datasets/${gone.id}/`, { is_archived: "True" }, u.key), 200);
    const list = await expectStatus(get("/api/dataset/?limit=1000", u.key), 200);
    const ids = list.results.map((d: { id: number }) => d.id);
    expect(ids).toContain(live.id);
    expect(ids).not.toContain(gone.id);
    expect(list.results[0]).toHaveProperty("top3_classes");
  });

  it("patches name, license, is_public, is_archived; 409 on a name the owner already uses", async () => {
    const u = await createUser();
    const a = await createDataset(u, "alpha");
    await createDataset(u, "beta");
    const got = await expectStatus(patch(`/api/v1/ui/datasets/${a.id}/`, { name: "gamma", license: "CC-BY-4.0", is_public: true, is_archived: 1 }, u.key), 200);
    expect(got).toMatchObject({ name: "gamma", license: "CC-BY-4.0", is_public: true, is_archived: true });
    await expectError(patch(`/api/v1/ui/datasets/${a.id}/`, { name: "beta" }, u.key), 409);
    await expectError(patch(`/api/v1/ui/datasets/${a.id}/`, { name: "" }, u.key), 400, /name/);
    await expectError(patch(`/api/v1/ui/datasets/${a.id}/`, { owner_id: 3 }, u.key), 400);
  });

  it("lets others read a public dataset but answers 403 to their writes, and 404 to writes on private ones", async () => {
    const owner = await createUser();
    const other = await createUser();
    const pub = await createDataset(owner);
    await makePublic(owner, pub.id);
    const priv = await createDataset(owner);
    await expectStatus(get(`/api/v1/ui/datasets/${pub.id}/`, other.key), 200);
    await expectError(patch(`/api/v1/ui/datasets/${pub.id}/`, { name: "mine now" }, other.key), 403);
    await expectError(del(`/api/v1/ui/datasets/${pub.id}/`, other.key), 403);
    await expectError(del(`/api/user-dataset/${pub.id}/`, other.key), 403);
    await expectError(patch(`/api/v1/ui/datasets/${priv.id}/`, { name: "x" }, other.key), 404);
    await expectError(del(`/api/user-dataset/${priv.id}/`, other.key), 404);
    expect((await expectStatus(get(`/api/v1/ui/datasets/${pub.id}/`, owner.key), 200)).name).toBe(pub.name);
  });

  it("deletes through both routes (204), removing rows, and queues the sweep that removes unshared blobs only", async () => {
    const u = await createUser();
    const a = await createDataset(u);
    const b = await createDataset(u);
    const shared = new TextEncoder().encode("same bytes in two datasets");
    const onlyA = await insertImage(a.id, { bytes: new TextEncoder().encode("only in a") });
    const inA = await insertImage(a.id, { bytes: shared });
    await insertImage(b.id, { bytes: shared });
    await expectStatus(del(`/api/user-dataset/${a.id}/`, u.key), 204);
    await expectError(get(`/api/v1/ui/datasets/${a.id}/`, u.key), 404);
    const rows = await env.DB.prepare("SELECT COUNT(*) AS n FROM images WHERE dataset_id = ?").bind(a.id).first<{ n: number }>();
    expect(rows!.n).toBe(0);
    // The sweep runs from the queue; wait for it.
    for (let i = 0; i < 100 && (await env.BUCKET.head(onlyA.r2Key)); i++) await new Promise((r) => setTimeout(r, 50));
    expect(await env.BUCKET.head(onlyA.r2Key)).toBeNull();
    expect(await env.BUCKET.head(inA.r2Key)).not.toBeNull();
    await expectStatus(del(`/api/v1/ui/datasets/${b.id}/`, u.key), 204);
    await expectError(del(`/api/v1/ui/datasets/${b.id}/`, u.key), 404);
  });

  it("the sweep removes every derived object of a deleted original, past one R2 listing page (1,000)", async () => {
    const u = await createUser();
    const d = await createDataset(u);
    const img = await insertImage(d.id, { bytes: new TextEncoder().encode(`big pyramid ${Math.random()}`) });
    const prefix = `derived/${img.r2Key}/pyramid/`;
    for (let i = 0; i < 1005; i += 100) {
      await Promise.all(Array.from({ length: Math.min(100, 1005 - i) }, (_, k) => env.BUCKET.put(`${prefix}${i + k}.jpg`, "x")));
    }
    await expectStatus(del(`/api/user-dataset/${d.id}/`, u.key), 204);
    const left = async () => (await env.BUCKET.list({ prefix, limit: 10 })).objects.length + ((await env.BUCKET.head(img.r2Key)) ? 1 : 0);
    for (let i = 0; i < 200 && (await left()) > 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await left()).toBe(0);
  });

  it("pages 2,500 datasets with limit=1000, returning each exactly once by following next", async () => {
    const u = await createUser();
    // Seed straight into D1 in chunks (creating 2,500 through the route is slow and tests nothing more).
    const stmts = [];
    for (let i = 0; i < 2500; i += 50) {
      const values = Array.from({ length: 50 }, (_, k) => `(${u.id}, 'bulk-${i + k}')`).join(",");
      stmts.push(env.DB.prepare(`INSERT INTO datasets (owner_id, name) VALUES ${values}`));
    }
    await env.DB.batch(stmts);
    const seen: number[] = [];
    let next: string | null = "/api/v1/ui/datasets/?limit=1000&is_public=false";
    let pages = 0;
    while (next) {
      const page: { count: number; next: string | null; results: { id: number; name: string }[] } = await expectStatus(get(next, u.key), 200);
      expect(page.count).toBe(2500);
      seen.push(...page.results.filter((d) => d.name.startsWith("bulk-")).map((d) => d.id));
      next = page.next;
      pages++;
    }
    expect(pages).toBe(3);
    expect(seen.length).toBe(2500);
    expect(new Set(seen).size).toBe(2500);
  });
});
