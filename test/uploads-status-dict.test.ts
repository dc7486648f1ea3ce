import { describe, expect, it } from "vitest";
import { humanSize } from "../src/services/ingest/upload-sessions";
import { remoDateTime } from "../src/lib/timestamps";
import { expectStatus, get } from "./helpers/api";
import { createDataset, createUser } from "./helpers/factories";
import { fixture, FIXTURE_IMAGES, uploadMultipart, waitForSession } from "./helpers/upload-helpers";

// DRF's DateTimeField as Remo's notebooks print it: '2020-05-29T13:56:05.883892Z'.
const MICROSECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const HUMAN_SIZE = /^(\d+ b|\d+\.\d (kb|mb|gb|tb))$/;

describe("a finished session's status dict and the statistics, as Remo's SDK prints them", () => {
  it("has remo-reference §2.3's keys, in its order, substatus '' and lower-case sizes", async () => {
    const u = await createUser();
    const ds = await createDataset(u);
    const [name] = FIXTURE_IMAGES;
    const image = await fixture(`images/${name}`);
    const csv = `file_name,class_name,xmin,ymin,xmax,ymax\n${name},Fruit,1,2,30,40\n`;
    const r = await expectStatus(
      uploadMultipart(
        u.key,
        ds.id,
        [
          { name, bytes: image },
          { name: "boxes.csv", bytes: csv },
        ],
        {
          annotation_task: "Object detection",
          complete: "true",
        },
      ),
      200,
    );
    const s = await waitForSession(u.key, r.session_id);

    expect(Object.keys(s)).toEqual([
      "session_id",
      "created_at",
      "finished_at",
      "dataset",
      "status",
      "substatus",
      "images",
      "annotations",
      "errors",
      "warnings",
      "uploaded",
    ]);
    expect(s.status, JSON.stringify(s)).toBe("done");
    expect(s.substatus).toBe("");
    expect(s.created_at).toMatch(MICROSECONDS);
    expect(s.finished_at).toMatch(MICROSECONDS);
    expect(s.dataset).toEqual({ id: ds.id, name: ds.name });
    const counts = ["pending", "total", "successful", "failed", "errors", "warnings"];
    expect(Object.keys(s.images)).toEqual(counts);
    expect(Object.keys(s.annotations)).toEqual(counts);
    expect(s.images).toMatchObject({ pending: 0, total: 1, successful: 1, failed: 0, errors: [], warnings: [] });
    expect(s.annotations).toMatchObject({ pending: 0, total: 1, successful: 1, failed: 0, errors: [] });
    expect(s.errors).toEqual([]);
    expect(s.warnings).toEqual([]);
    expect(Object.keys(s.uploaded)).toEqual(["total", "images", "annotations", "archives"]);
    for (const kind of ["total", "images", "annotations", "archives"]) {
      expect(Object.keys(s.uploaded[kind])).toEqual(["items", "size", "human_size"]);
      expect(s.uploaded[kind].human_size).toBe(humanSize(s.uploaded[kind].size));
      expect(s.uploaded[kind].human_size).toMatch(HUMAN_SIZE);
    }
    expect(s.uploaded.archives).toEqual({ items: 0, size: 0, human_size: "0 b" });
    expect(s.uploaded.images).toEqual({ items: 1, size: image.byteLength, human_size: humanSize(image.byteLength) });
    expect(s.uploaded.images.human_size).toMatch(/ kb$/);
  });

  it("gives the annotation sets' dates (the SDK's last_modified_date) with microseconds", async () => {
    const u = await createUser();
    const ds = await createDataset(u);
    const [name] = FIXTURE_IMAGES;
    const csv = `file_name,class_name,xmin,ymin,xmax,ymax\n${name},Fruit,1,2,30,40\n`;
    const r = await expectStatus(
      uploadMultipart(
        u.key,
        ds.id,
        [
          { name, bytes: await fixture(`images/${name}`) },
          { name: "boxes.csv", bytes: csv },
        ],
        { annotation_task: "Object detection", complete: "true" },
      ),
      200,
    );
    await waitForSession(u.key, r.session_id);
    const sets = await expectStatus(get(`/api/v1/ui/datasets/${ds.id}/annotation-sets/`, u.key), 200);
    expect(sets.results).toHaveLength(1);
    expect(sets.results[0].updated_at).toMatch(MICROSECONDS);
    expect(sets.results[0].last_annotated_date).toMatch(MICROSECONDS);
    const one = await expectStatus(get(`/api/v1/ui/annotation-sets/${sets.results[0].id}/`, u.key), 200);
    expect(one.updated_at).toBe(sets.results[0].updated_at);
  });

  it("spells sizes as Remo does: bytes whole, larger units to one decimal, lower case", () => {
    expect(humanSize(0)).toBe("0 b");
    expect(humanSize(1023)).toBe("1023 b");
    expect(humanSize(1536)).toBe("1.5 kb");
    expect(humanSize(5 * 1024 * 1024)).toBe("5.0 mb");
    expect(humanSize(3 * 1024 ** 3)).toBe("3.0 gb");
  });

  it("writes stored millisecond times with six fraction digits", () => {
    expect(remoDateTime("2020-05-29T13:56:05.883Z")).toBe("2020-05-29T13:56:05.883000Z");
    expect(remoDateTime("2020-05-29T13:56:05Z")).toBe("2020-05-29T13:56:05.000000Z");
    expect(remoDateTime(null)).toBeNull();
  });
});
