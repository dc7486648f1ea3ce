import { insertImagesWhereTheyLive } from "./dataset-rows";
import { env } from "cloudflare:test";
import { expectStatus, post } from "./api";

let seq = 0;
const unique = () => `${Date.now().toString(36)}${(seq++).toString(36)}${Math.random().toString(36).slice(2, 6)}`;

export interface TestUser {
  id: number;
  email: string;
  key: string;
}

/** A new user with a key, through the real signup route. */
export async function createUser(name = "Test User"): Promise<TestUser> {
  const email = `u${unique()}@example.com`;
  const body = await expectStatus(post("/api/signup/", { email, password: "correct horse battery", name }), 201);
  return { id: body.id, email, key: body.key };
}

export async function createDataset(user: TestUser, name = `ds-${unique()}`, extra: Record<string, unknown> = {}) {
  const body = await expectStatus(post("/api/dataset/", { name, ...extra }, user.key), 200);
  return body as { id: number; name: string };
}

export async function makePublic(user: TestUser, datasetId: number) {
  const { patch } = await import("./api");
  await expectStatus(patch(`/api/v1/ui/datasets/${datasetId}/`, { is_public: true }, user.key), 200);
}

/**
 * An image row straight into D1 (with its bytes in R2), for tests of routes that read images before uploads
 * exist in that test. Counters are kept as the upload path keeps them.
 */
export async function insertImage(
  datasetId: number,
  opts: { name?: string; folderId?: number | null; width?: number; height?: number; bytes?: Uint8Array; mime?: string } = {},
) {
  const bytes = opts.bytes ?? new TextEncoder().encode(`fake-${unique()}`);
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  const sha = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  const key = `images/${sha}`;
  await env.BUCKET.put(key, bytes);
  const name = opts.name ?? `img-${unique()}.jpg`;
  // In a DatasetStore, the id comes from the dataset's block as the ingest takes it; in D1, AUTOINCREMENT.
  const write = async (db: D1Database, ids: (number | null)[]) => {
    const [ins] = await db.batch([
      db.prepare(
        "INSERT INTO images (id, dataset_id, folder_id, original_name, sha256, r2_key, mime, size, width, height) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
      ).bind(ids[0], datasetId, opts.folderId ?? null, name, sha, key, opts.mime ?? "image/jpeg", bytes.length, opts.width ?? 640, opts.height ?? 480),
      db.prepare("UPDATE datasets SET image_count = image_count + 1, size_in_bytes = size_in_bytes + ? WHERE id = ? AND changes() = 1").bind(bytes.length, datasetId),
    ]);
    return (ins.results[0] as { id: number }).id;
  };
  const id = await insertImagesWhereTheyLive(datasetId, 1, write, { blobKeys: [key] });
  return { id, name, sha256: sha, r2Key: key };
}

export { unique };
