import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { presignR2Put, presignUrl } from "../src/lib/sigv4";
import { call, expectError, expectStatus, post } from "./helpers/api";
import { createDataset, createUser, insertImage } from "./helpers/factories";
import { completeAndWait, datasetImages, fixture, FIXTURE_IMAGES, newSession } from "./helpers/upload-helpers";

const hex = async (b: Uint8Array) =>
  [...new Uint8Array(await crypto.subtle.digest("SHA-256", b))].map((x) => x.toString(16).padStart(2, "0")).join("");

describe("SigV4 presigning", () => {
  it("matches AWS's published presigned-URL example (S3, GET, 86400 s)", async () => {
    const url = await presignUrl(
      {
        accessKeyId: "AKIAIOSFODNN7EXAMPLE",
        secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        region: "us-east-1",
      },
      "https://examplebucket.s3.amazonaws.com/test.txt",
      { method: "GET", expiresSeconds: 86400, datetime: "20130524T000000Z" },
    );
    const q = new URL(url).searchParams;
    expect(q.get("X-Amz-Algorithm")).toBe("AWS4-HMAC-SHA256");
    expect(q.get("X-Amz-Credential")).toBe("AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request");
    expect(q.get("X-Amz-SignedHeaders")).toBe("host");
    expect(q.get("X-Amz-Signature")).toBe("aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
  });

  it("presigns an R2 PUT only when all four R2 settings are present", async () => {
    expect(await presignR2Put({ R2_ACCOUNT_ID: "acc" }, "k")).toBeNull();
    const url = await presignR2Put(
      { R2_ACCOUNT_ID: "acc", R2_ACCESS_KEY_ID: "id", R2_SECRET_ACCESS_KEY: "secret", R2_BUCKET_NAME: "b" },
      "uploads/s/x y.jpg",
    );
    const u = new URL(url!);
    expect(u.host).toBe("acc.r2.cloudflarestorage.com");
    expect(u.pathname).toBe("/b/uploads/s/x%20y.jpg");
    expect(u.searchParams.get("X-Amz-Credential")).toMatch(/^id\/\d{8}\/auto\/s3\/aws4_request$/);
    expect(u.searchParams.get("X-Amz-Expires")).toBe("3600");
  });
});

describe("direct uploads", () => {
  it("answers exists by sha256 or a Worker PUT target; the PUT streams into R2 and the file is ingested on complete", async () => {
    const u = await createUser();
    const ds = await createDataset(u);
    const a = await fixture(`images/${FIXTURE_IMAGES[0]}`);
    const b = await fixture(`images/${FIXTURE_IMAGES[1]}`);
    // b's bytes are already stored (another of this user's datasets has them): nothing to send.
    const other = await createDataset(u);
    await insertImage(other.id, { name: "b-elsewhere.jpg", bytes: b });
    const sid = await newSession(u.key, ds.id);
    const plan = await expectStatus(
      post(
        `/api/v1/uploads/${sid}/direct/`,
        {
          files: [
            { name: "a.jpg", size: a.length },
            { name: "b.jpg", size: b.length, sha256: await hex(b) },
          ],
        },
        u.key,
      ),
      200,
    );
    expect(plan.files[1]).toEqual({ name: "b.jpg", status: "exists" });
    expect(plan.files[0]).toMatchObject({ name: "a.jpg", status: "upload", method: "PUT", presigned: false });
    const target = plan.files[0].url as string;
    expect(target).toBe(`/api/v1/uploads/${sid}/blobs/${plan.files[0].item_id}/`);
    const put = await expectStatus(call("PUT", target, { key: u.key, body: a }), 200);
    expect(put).toMatchObject({ size: a.length, sha256: await hex(a) });
    await expectError(call("PUT", target, { key: u.key, body: a }), 409);

    const s = await completeAndWait(u.key, sid);
    expect(s.status, JSON.stringify(s)).toBe("done");
    expect((await datasetImages(ds.id)).map((i) => [i.original_name, i.r2_key])).toEqual([
      ["a.jpg", `images/${await hex(a)}`],
      ["b.jpg", `images/${await hex(b)}`],
    ]);
    // Already in the dataset under that name: nothing to send and nothing joins the next session.
    const next = await newSession(u.key, ds.id);
    const again = await expectStatus(
      post(
        `/api/v1/uploads/${next}/direct/`,
        { files: [{ name: "a.jpg", size: a.length, sha256: await hex(a) }] },
        u.key,
      ),
      200,
    );
    expect(again.files).toEqual([{ name: "a.jpg", status: "exists" }]);
    const items = await env.DB.prepare("SELECT COUNT(*) AS n FROM upload_items WHERE session_id = ?")
      .bind(next)
      .first<any>();
    expect(items.n).toBe(0);
  });

  it("asks for the bytes when they are stored only in another user's private dataset (a hash is not a key)", async () => {
    const owner = await createUser();
    const private_ = await createDataset(owner);
    const b = await fixture(`images/${FIXTURE_IMAGES[1]}`);
    await insertImage(private_.id, { name: "secret.jpg", bytes: b });
    const u = await createUser();
    const ds = await createDataset(u);
    const sid = await newSession(u.key, ds.id);
    const plan = await expectStatus(
      post(`/api/v1/uploads/${sid}/direct/`, { files: [{ name: "mine.jpg", size: b.length, sha256: await hex(b) }] }, u.key),
      200,
    );
    expect(plan.files[0]).toMatchObject({ name: "mine.jpg", status: "upload", method: "PUT" });
  });

  it("refuses a body bigger than announced, a wrong-size body, bad sha256s and sizes; never-sent files are session errors", async () => {
    const u = await createUser();
    const ds = await createDataset(u);
    const sid = await newSession(u.key, ds.id);
    const plan = await expectStatus(
      post(
        `/api/v1/uploads/${sid}/direct/`,
        {
          files: [
            { name: "x.bin", size: 10 },
            { name: "y.bin", size: 10 },
          ],
        },
        u.key,
      ),
      200,
    );
    await expectError(call("PUT", plan.files[0].url, { key: u.key, body: new Uint8Array(11) }), 413, /announced/);
    await expectError(
      call("PUT", plan.files[1].url, { key: u.key, body: new Uint8Array(5) }),
      400,
      /5 bytes, 10 were announced/,
    );
    await expectError(
      post(`/api/v1/uploads/${sid}/direct/`, { files: [{ name: "z", size: 1, sha256: "abc" }] }, u.key),
      400,
      /sha256/,
    );
    await expectError(post(`/api/v1/uploads/${sid}/direct/`, { files: [] }, u.key), 400, /files/);
    await expectError(
      post(`/api/v1/uploads/${sid}/direct/`, { files: [{ name: "big", size: 6 * 1024 ** 3 }] }, u.key),
      400,
      /byte limit/,
    );
    // Never sent: reported when the session starts.
    const s = await completeAndWait(u.key, sid);
    expect(s.errors.map((e: any) => e.error).sort()).toEqual([
      "x.bin: announced for direct upload but never received",
      "y.bin: announced for direct upload but never received",
    ]);
  });
});
