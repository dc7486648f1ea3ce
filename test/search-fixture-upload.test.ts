import { describe, expect, it } from "vitest";
import { expectStatus, get } from "./helpers/api";
import { createDataset, createUser } from "./helpers/factories";
import { fixture, fixtureCsvRows, fixtureImages, fixtureText, uploadMultipart, waitForSession } from "./helpers/upload-helpers";


describe("the fixture uploaded through the real pipeline", () => {
  it("gives list_annotation_sets statistics that match the CSV, and classes=Person finds exactly its images", async () => {
    const u = await createUser();
    const ds = await createDataset(u);
    const files = [
      ...Object.entries(await fixtureImages()).map(([name, bytes]) => ({ name, bytes })),
      { name: "annotations.csv", bytes: await fixture("annotations/annotations.csv") },
      { name: "images_tags.csv", bytes: await fixture("annotations/images_tags.csv") },
    ];
    const { session_id: sid } = await expectStatus(uploadMultipart(u.key, ds.id, files, { annotation_task: "Object detection", complete: "true" }), 200);
    const session = await waitForSession(u.key, sid);
    expect(session.status, JSON.stringify(session)).toBe("done");

    const rows = fixtureCsvRows(await fixtureText("annotations/annotations.csv"));
    const tagRows = (await fixtureText("annotations/images_tags.csv"))
      .trim()
      .split(/\r?\n/)
      .slice(1)
      .map((l) => ({ file: l.split(",")[0], tag: l.split(",")[1].trim().toLowerCase() }));

    const list = await expectStatus(get(`/api/v1/ui/datasets/${ds.id}/annotation-sets/`, u.key), 200);
    expect(list.count).toBe(1);
    const set = list.results[0];
    expect(set.task.name).toBe("Object detection");
    const s = set.statistics;
    const perClass = new Map<string, number>();
    for (const r of rows) perClass.set(r.cls, (perClass.get(r.cls) ?? 0) + 1);
    const annotated = new Set([...rows.map((r) => r.file), ...tagRows.map((t) => t.file)]);
    expect(s.total_annotation_objects).toBe(rows.length);
    expect(s.annotated_images_count).toBe(annotated.size);
    expect(s.total_classes).toBe(perClass.size);
    expect(Object.fromEntries(s.all_classes.map((c: any) => [c.name, c.count]))).toEqual(Object.fromEntries(perClass));
    expect(s.top3_classes.map((c: any) => c.count)).toEqual([...perClass.values()].sort((a, b) => b - a).slice(0, 3));
    expect([...s.tags].sort()).toEqual([...new Set(tagRows.map((t) => t.tag))].sort());
    expect(set.total_images).toBe(7);

    // search_images as the SDK does it: sets filled in, 25 a page, following `next`
    const persons = new Set(rows.filter((r) => r.cls === "Person").map((r) => r.file));
    let url: string | null = `/api/v1/ui/datasets/${ds.id}/contents/?sets=${set.id}&classes=Person&limit=25`;
    const found: any[] = [];
    while (url) {
      const page: any = await expectStatus(get(url, u.key), 200);
      found.push(...page.results);
      url = page.next;
    }
    expect(found.map((r) => r.image.name).sort()).toEqual([...persons].sort());
    for (const item of found) {
      const boxes = item.image.annotations[0].coordinates.map((p: any[]) => [p[0].x, p[0].y, p[1].x, p[1].y]);
      expect(boxes.sort()).toEqual(rows.filter((r) => r.file === item.image.name).map((r) => r.box).sort());
    }
  });
});
