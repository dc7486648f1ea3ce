import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, expectError, expectStatus, get, post } from "../../../test/helpers/api";
import { createUser } from "../../../test/helpers/factories";
import { seedFixtureSet } from "../../../test/helpers/seed-annotations";
import { deliver, superuser } from "./helpers";

const list = (key: string | undefined, query = "") => get(`/api/v1/admin/dataset-stores${query}`, key);
const switchAll = (key?: string) => call("POST", "/api/v1/admin/dataset-stores/switch", { key });

// Its own file: the totals the list shows are over every dataset in storage, which starts empty per file.
describe("switching every dataset over, and the operator's list", () => {
  it("freezes every dataset D1 serves but a busy one, switches them, and the list says where each is", async () => {
    const op = await superuser();
    const owner = await createUser();
    const a = await seedFixtureSet(owner, "a");
    const b = await seedFixtureSet(owner, "b");
    const busy = await seedFixtureSet(owner, "busy");
    await expectStatus(post("/api/v1/ui/uploads/", { dataset_id: busy.datasetId }, owner.key), 201);

    const before = await expectStatus<any>(list(op.key), 200);
    expect(before.stores).toEqual({ d1: 3, frozen: 0, object: 0 });
    expect(before.states).toEqual({ none: 3 });

    expect(await expectStatus(switchAll(op.key), 202)).toEqual({ queued: "all" });
    // The fan-out message reaches the real consumer; wait for it to freeze both.
    const deadline = Date.now() + 30_000;
    let frozen: any;
    while ((frozen = await expectStatus<any>(list(op.key, "?store=frozen"), 200)).datasets.length < 2) {
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(frozen.datasets.map((d: any) => [d.dataset_id, d.state])).toEqual([
      [a.datasetId, "switching"],
      [b.datasetId, "switching"],
    ]);
    // A second fan-out over the same datasets changes nothing; then the (30 s delayed) switch jobs run.
    await deliver({ type: "switch-dataset-stores", afterId: 0 });
    expect((await expectStatus<any>(list(op.key), 200)).stores).toEqual({ d1: 1, frozen: 2, object: 0 });
    for (const s of [a, b]) await deliver({ type: "switch-dataset-store", datasetId: s.datasetId, fresh: true });

    const after = await expectStatus<any>(list(op.key), 200);
    expect(after.stores).toEqual({ d1: 1, frozen: 0, object: 2 });
    expect(after.states).toEqual({ none: 1, switched: 2 });
    expect(after.datasets.map((d: any) => [d.dataset_id, d.store, d.state])).toEqual([
      [a.datasetId, "object", "switched"],
      [b.datasetId, "object", "switched"],
      [busy.datasetId, "d1", null],
    ]);
    const named = await expectStatus<any>(get(`/api/v1/ui/datasets/${a.datasetId}/`, owner.key), 200);
    expect(after.datasets[0].name).toBe(named.name);
    expect(after.next_after_id).toBeNull();
    // Filters and pages.
    expect((await expectStatus<any>(list(op.key, "?store=d1"), 200)).datasets.map((d: any) => d.dataset_id)).toEqual([busy.datasetId]);
    expect((await expectStatus<any>(list(op.key, "?state=switched"), 200)).datasets.length).toBe(2);
    const first = await expectStatus<any>(list(op.key, "?limit=1"), 200);
    expect(first.datasets.map((d: any) => d.dataset_id)).toEqual([a.datasetId]);
    expect(first.next_after_id).toBe(a.datasetId);
    const second = await expectStatus<any>(list(op.key, `?limit=2&after_id=${first.next_after_id}`), 200);
    expect(second.datasets.map((d: any) => d.dataset_id)).toEqual([b.datasetId, busy.datasetId]);
    expect(second.next_after_id).toBeNull();
  });

  it("refuses bad filters with 400, and other users with 403 (401 without a key); nothing is queued then", async () => {
    const op = await superuser();
    const owner = await createUser();
    const ds = await seedFixtureSet(owner);
    await expectError(list(op.key, "?store=elsewhere"), 400, /store/);
    await expectError(list(op.key, "?state=gone"), 400, /state/);
    await expectError(list(op.key, "?limit=0"), 400, /limit/);
    await expectError(list(op.key, "?limit=1001"), 400, /limit/);
    await expectError(list(op.key, "?after_id=-1"), 400, /after_id/);
    await expectError(list(owner.key), 403);
    await expectError(list(undefined), 401);
    await expectError(switchAll(owner.key), 403);
    await expectError(switchAll(), 401);
    await new Promise((r) => setTimeout(r, 1500)); // the consumer's batch timeout is 1 s
    expect(await env.DB.prepare("SELECT store FROM datasets WHERE id = ?").bind(ds.datasetId).first<string>("store")).toBe("d1");
  });
});
