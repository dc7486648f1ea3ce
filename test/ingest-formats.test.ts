import { datasetRows, inDataset } from "./helpers/dataset-rows";
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { expectStatus, post } from "./helpers/api";
import { createDataset, createUser } from "./helpers/factories";
import {
  fixture,
  FIXTURE_IMAGES,
  sessionSetId,
  setClassNames as classesOf,
  setObjects,
  uploadMultipart,
  waitForSession,
  zip,
} from "./helpers/upload-helpers";

async function upload(files: { name: string; bytes: Uint8Array | string }[], fields: Record<string, string>) {
  const u = await createUser();
  const ds = await createDataset(u);
  const r = await expectStatus(uploadMultipart(u.key, ds.id, files, { complete: "true", ...fields }), 200);
  const s = await waitForSession(u.key, r.session_id);
  return { u, ds, s, sid: r.session_id as string };
}

describe("annotation formats through an upload", () => {
  it("YOLO: images/, labels/*.txt and classes.txt in one zip; boxes scaled by each image's size", async () => {
    const jpeg = await fixture(`images/${FIXTURE_IMAGES[1]}`);
    const archive = zip({
      "ds/images/cam1.jpg": jpeg,
      "ds/labels/cam1.txt": "1 0.5 0.5 0.5 0.5\n0 0.25 0.25 0.1 0.1\n",
      "ds/classes.txt": "car\nperson\n",
    });
    const { s, sid } = await upload([{ name: "yolo.zip", bytes: archive }], { annotation_task: "Object detection" });
    expect(s.status, JSON.stringify(s)).toBe("done");
    const [img] = await datasetRows<any>(
      { setId: await sessionSetId(sid) },
      "SELECT width, height FROM images WHERE original_name = 'cam1.jpg' AND upload_session_id = ?",
      sid,
    );
    const objs = await setObjects(await sessionSetId(sid));
    const w = img.width;
    const h = img.height;
    const box = (a: number, b: number, c: number, d: number) =>
      `cam1.jpg|${Math.trunc(a * w)},${Math.trunc(b * h)},${Math.trunc(c * w)},${Math.trunc(d * h)}`;
    expect(objs).toEqual(
      new Map([
        [box(0.25, 0.25, 0.75, 0.75), ["Person"]],
        [box(0.2, 0.2, 0.3, 0.3), ["Car"]],
      ]),
    );
  });

  it("a custom class encoding renames labels; a label missing from it is Remo's per-file error", async () => {
    const name = FIXTURE_IMAGES[3];
    const { s, sid } = await upload(
      [
        { name, bytes: await fixture(`images/${name}`) },
        { name: "a.csv", bytes: `file_name,label,xmin,ymin,xmax,ymax\n${name},c1,1,2,30,40\n${name},zz,5,5,9,9\n` },
      ],
      {
        annotation_task: "Object detection",
        class_encoding_type: "custom",
        class_encoding_raw_content: "c1,Racing car\nc2,Bus",
      },
    );
    expect(s.annotations.errors).toEqual([{ filename: "a.csv", errors: ["Label zz not found in decoding list"] }]);
    expect(await classesOf(await sessionSetId(sid))).toEqual(["Racing car"]);
  });

  it("a class encoding given as local_path is read from the bucket (JSON upload, as the SDK links it)", async () => {
    const u = await createUser();
    const ds = await createDataset(u);
    const name = FIXTURE_IMAGES[6];
    const dir = `enc/${crypto.randomUUID()}/`;
    await env.BUCKET.put(`${dir}${name}`, await fixture(`images/${name}`));
    await env.BUCKET.put(`${dir}a.csv`, `file_name,label,xmin,ymin,xmax,ymax\n${name},n1,1,2,30,40\n`);
    await env.BUCKET.put(`${dir}mapping.csv`, "n1,Fire truck\n");
    const r = await expectStatus(
      post(
        `/api/dataset/${ds.id}/upload/`,
        {
          local_files: [`${dir}${name}`, `${dir}a.csv`],
          annotation_task: "Object detection",
          class_encoding: { type: "custom", local_path: `/${dir}mapping.csv` },
          complete: true,
        },
        u.key,
      ),
      200,
    );
    const s = await waitForSession(u.key, r.session_id);
    expect(s.status, JSON.stringify(s)).toBe("done");
    expect(await setObjects(await sessionSetId(r.session_id))).toEqual(
      new Map([[`${name}|1,2,30,40`, ["Fire truck"]]]),
    );
  });

  it("skip_new_classes drops objects whose classes are not in the set", async () => {
    const u = await createUser();
    const ds = await createDataset(u);
    // Written where the dataset lives (D1 or its DatasetStore: test/helpers/dataset-rows.ts).
    const set = await inDataset(ds.id, async (db) => {
      const row = await db
        .prepare("INSERT INTO annotation_sets (dataset_id, name, task) VALUES (?, 'Fixed', 'object_detection') RETURNING id")
        .bind(ds.id)
        .first<{ id: number }>();
      // Names bound, as the app binds them: the split copies bound class names into the object's mirror.
      await db.prepare("INSERT OR IGNORE INTO classes (name) VALUES (?)").bind("Car").run();
      await db.prepare("INSERT INTO annotation_set_classes (set_id, class_id) SELECT ?, id FROM classes WHERE name = ?").bind(row!.id, "Car").run();
      return row;
    });
    const name = FIXTURE_IMAGES[4];
    const r = await expectStatus(
      uploadMultipart(
        u.key,
        ds.id,
        [
          { name, bytes: await fixture(`images/${name}`) },
          {
            name: "a.csv",
            bytes: `file_name,class,xmin,ymin,xmax,ymax\n${name},car,1,2,30,40\n${name},Boat,5,5,9,9\n`,
          },
        ],
        { complete: "true", skip_new_classes: "true" },
        `?annotation_set_id=${set!.id}`,
      ),
      200,
    );
    const s = await waitForSession(u.key, r.session_id);
    expect(s.status, JSON.stringify(s)).toBe("done");
    expect(await setObjects(set!.id)).toEqual(new Map([[`${name}|1,2,30,40`, ["Car"]]]));
    expect(await classesOf(set!.id)).toEqual(["Car"]);
  });

  it("COCO segmentation with an RLE mask and Pascal VOC detection in one session", async () => {
    const name = FIXTURE_IMAGES[5];
    const coco = {
      images: [{ id: 1, file_name: name }],
      categories: [{ id: 1, name: "blob" }],
      annotations: [
        {
          id: 1,
          image_id: 1,
          category_id: 1,
          segmentation: { counts: [6, 2, 2, 2, 4], size: [4, 4] },
          iscrowd: 0,
          area: 4,
          bbox: [1, 2, 2, 2],
        },
      ],
    };
    const { s, sid } = await upload(
      [
        { name, bytes: await fixture(`images/${name}`) },
        { name: "seg.json", bytes: JSON.stringify(coco) },
      ],
      { annotation_task: "Instance segmentation" },
    );
    expect(s.status, JSON.stringify(s)).toBe("done");
    expect(await setObjects(await sessionSetId(sid))).toEqual(new Map([[`${name}|1,2,3,2,3,4,1,4`, ["Blob"]]]));

    const voc = `<annotation><filename>${name}</filename><size><width>1</width><height>1</height></size>
      <object><name>dog</name><bndbox><xmin>10</xmin><ymin>20</ymin><xmax>30</xmax><ymax>40</ymax></bndbox></object></annotation>`;
    const det = await upload(
      [
        { name, bytes: await fixture(`images/${name}`) },
        { name: "x.xml", bytes: voc },
      ],
      { annotation_task: "Object detection" },
    );
    expect(det.s.status, JSON.stringify(det.s)).toBe("done");
    expect(await setObjects(await sessionSetId(det.sid))).toEqual(new Map([[`${name}|10,20,30,40`, ["Dog"]]]));
  });
});
