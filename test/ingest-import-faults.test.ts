import { datasetD1, inDataset } from "./helpers/dataset-rows";
import { env } from "cloudflare:test";
import { strFromU8, unzipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { expectError, expectStatus, get, post, put } from "./helpers/api";
import { createDataset, createUser, insertImage, type TestUser } from "./helpers/factories";
import { makePng } from "./helpers/image-fixtures";
import { sessionSetId, setObjects, uploadMultipart, waitForSession, zip } from "./helpers/upload-helpers";

/**
 * Issue 10, importers: files as people upload them (a background image's empty YOLO label, a VOC without
 * `<size>`, COCO names with folders, boxes off the image, YOLO ids past the class list), each a small input
 * built here and sent through the Worker's upload route and queue consumer, then read back from D1 or an export.
 */

// Distinct bytes per image (a duplicate's warning would blur what these tests read); all 100x100 unless said.
const png = (w = 100, h = 100) => makePng(w, h);

async function upload(user: TestUser, files: Record<string, Uint8Array | string>, task = "Object detection") {
  const ds = await createDataset(user);
  const r = await expectStatus(
    uploadMultipart(user.key, ds.id, [{ name: "upload.zip", bytes: zip(files) }], {
      complete: "true",
      annotation_task: task,
    }),
    200,
  );
  const s = await waitForSession(user.key, r.session_id);
  return { ds, s, setId: await sessionSetId(r.session_id) };
}

/** Per image name: its annotation's status in the set (null: no annotation row) and its object count. */
async function annotationRows(datasetId: number, setId: number) {
  const rows = await datasetD1({ datasetId }).prepare(
    `SELECT i.original_name AS name, a.status, (SELECT COUNT(*) FROM annotation_objects o WHERE o.set_id = ?2 AND o.image_id = i.id) AS objects
     FROM images i LEFT JOIN annotations a ON a.image_id = i.id AND a.set_id = ?2 WHERE i.dataset_id = ?1 ORDER BY i.original_name`,
  )
    .bind(datasetId, setId)
    .all<{ name: string; status: number | null; objects: number }>();
  return Object.fromEntries(rows.results.map((r) => [r.name, { status: r.status, objects: r.objects }]));
}

const warningsOf = (s: any, file: string): string[] =>
  s.annotations.warnings.find((w: any) => w.filename === file)?.warnings ?? [];

async function download(user: TestUser, setId: number, format: string) {
  const res = await get(`/api/v1/ui/annotation-sets/${setId}/export/?annotation_format=${format}`, user.key);
  expect(res.status, await res.clone().text()).toBe(200);
  return res;
}
const unzipText = async (res: Response) =>
  Object.fromEntries(
    Object.entries(unzipSync(new Uint8Array(await res.arrayBuffer()))).map(([k, v]) => [k, strFromU8(v)]),
  );

describe("a file that validly says nothing here", () => {
  it("empty and whitespace-only YOLO labels, a VOC without objects, COCO annotations [] and a bare CSV header end the session done", async () => {
    const u = await createUser();
    const { ds, s, setId } = await upload(u, {
      "images/boxed.png": png(100, 100),
      "images/bg.png": png(100, 101),
      "images/ws.png": png(100, 102),
      "images/voc.png": png(100, 103),
      "images/coco.png": png(100, 104),
      "labels/boxed.txt": "0 0.5 0.5 0.2 0.2\n",
      "labels/bg.txt": "",
      "labels/ws.txt": "  \r\n\t\n",
      "classes.txt": "cat\n",
      "voc.xml":
        "<annotation><filename>voc.png</filename><size><width>100</width><height>103</height><depth>3</depth></size></annotation>",
      "coco.json": JSON.stringify({
        images: [{ id: 1, file_name: "coco.png", width: 100, height: 104 }],
        annotations: [],
        categories: [{ id: 1, name: "cat" }],
      }),
      "header.csv": "file_name,class_name,xmin,ymin,xmax,ymax\n",
    });
    expect(s.status, JSON.stringify(s)).toBe("done");
    expect(s.annotations.errors).toEqual([]);
    expect(s.annotations.warnings).toEqual([]);
    // YOLO's empty label file says "no object here": the image is annotated-empty (done). VOC and COCO that list
    // nothing leave their image as it was.
    expect(await annotationRows(ds.id, setId)).toEqual({
      "bg.png": { status: 1, objects: 0 },
      "boxed.png": { status: 1, objects: 1 },
      "coco.png": { status: null, objects: 0 },
      "voc.png": { status: null, objects: 0 },
      "ws.png": { status: 1, objects: 0 },
    });
  });

  it("a file no importer recognises is still an error naming it", async () => {
    const u = await createUser();
    const { s } = await upload(u, { "a.png": png(), "notes.txt": "hello, world\nthis is not YOLO\n" });
    expect(s.status).toBe("failed");
    expect(s.annotations.errors).toEqual([
      {
        filename: "notes.txt",
        errors: [
          "Annotation format for Object detection not recognised for file 'notes.txt'. Please check the documentation to see supported formats.",
        ],
      },
    ]);
  });
});

describe("degenerate boxes", () => {
  it("on import, a box wholly outside or of zero width/height is skipped with a warning naming file, row/object and why; a box partly outside is clamped", async () => {
    const u = await createUser();
    const { s, setId } = await upload(u, {
      "a.png": png(),
      "boxes.csv":
        "file_name,class_name,xmin,ymin,xmax,ymax\n" +
        "a.png,car,150,10,180,20\n" + // wholly right of the 100-px-wide image
        "a.png,car,10,50,40,50\n" + // zero height
        "a.png,car,90,90,130,130\n", // partly outside: clamped
      "coco.json": JSON.stringify({
        images: [{ id: 1, file_name: "a.png" }],
        annotations: [
          { id: 7, image_id: 1, category_id: 1, bbox: [120, 0, 10, 10] },
          { id: 8, image_id: 1, category_id: 1, bbox: [10, 10, 20, 30] },
        ],
        categories: [{ id: 1, name: "car" }],
      }),
      "voc.xml":
        "<annotation><filename>a.png</filename><size><width>100</width><height>100</height></size>" +
        "<object><name>car</name><bndbox><xmin>5</xmin><ymin>5</ymin><xmax>5.4</xmax><ymax>30</ymax></bndbox></object>" +
        "<object><name>bus</name><bndbox><xmin>1</xmin><ymin>-20</ymin><xmax>9</xmax><ymax>0</ymax></bndbox></object></annotation>",
    });
    expect(s.status, JSON.stringify(s)).toBe("done");
    expect(warningsOf(s, "boxes.csv")).toEqual([
      "line 2 for 'a.png': x 150–180 lies wholly outside the 100x100 image; skipped",
      "line 3 for 'a.png': zero height (y 50–50) in the 100x100 image; skipped",
    ]);
    expect(warningsOf(s, "coco.json")).toEqual([
      "annotation id 7 for 'a.png': x 120–130 lies wholly outside the 100x100 image; skipped",
    ]);
    expect(warningsOf(s, "voc.xml")).toEqual([
      "object 1 (car) for 'a.png': zero width (x 5–5.4) in the 100x100 image; skipped",
      "object 2 (bus) for 'a.png': y -20–0 lies wholly outside the 100x100 image; skipped",
    ]);
    expect(await setObjects(setId)).toEqual(
      new Map([
        ["a.png|90,90,100,100", ["Car"]],
        ["a.png|10,10,30,40", ["Car"]],
      ]),
    );
  });

  it("through the API, a box with no area in its image is a 400 naming the object; partly outside is clamped", async () => {
    const u = await createUser();
    const d = await createDataset(u);
    const img = await insertImage(d.id, { width: 100, height: 100 });
    const set = await expectStatus(
      post("/api/v1/ui/annotation-sets/", { annotation_task: "Object detection", dataset_id: d.id, name: "S" }, u.key),
      201,
    );
    const save = `/api/dataset/${d.id}/annotation-set/${set.id}/image/${img.id}/save-annotation/`;
    const box = (name: string, x1: number, y1: number, x2: number, y2: number) => ({
      name,
      coordinates: [
        { x: x1, y: y1 },
        { x: x2, y: y2 },
      ],
      classes: ["car"],
    });
    await expectError(
      post(save, { objects: [box("ok", 1, 1, 9, 9), box("far", 150, 10, 180, 20)] }, u.key),
      400,
      "objects.1.coordinates: bbox 'far': x 150–180 lies wholly outside the 100x100 image",
    );
    await expectError(
      put(
        `/api/v1/ui/annotation-sets/${set.id}/images/${img.id}/annotations/`,
        { objects: [box("flat", 10, 50, 40, 50)] },
        u.key,
      ),
      400,
      "objects.0.coordinates: bbox 'flat': zero height (y 50–50) in the 100x100 image",
    );
    const polygon = {
      coordinates: [
        { x: 120, y: 1 },
        { x: 130, y: 5 },
        { x: 125, y: 9 },
      ],
    };
    await expectError(
      post(save, { objects: [polygon] }, u.key),
      400,
      /objects\.0\.coordinates: polygon: x 120–130 lies wholly outside/,
    );
    // Nothing of a refused body was stored; a box partly outside is clamped as before.
    expect(await setObjects(set.id)).toEqual(new Map());
    await expectStatus(post(save, { objects: [box("edge", 90, 90, 130, 130)] }, u.key), 200);
    expect(await setObjects(set.id)).toEqual(new Map([[`${img.name}|90,90,100,100`, ["Car"]]]));
  });

  it("no export writes a zero-area box, even one already stored", async () => {
    const u = await createUser();
    const d = await createDataset(u);
    const img = await insertImage(d.id, { name: "z.png", width: 100, height: 100 });
    const set = await expectStatus(
      post("/api/v1/ui/annotation-sets/", { annotation_task: "Object detection", dataset_id: d.id, name: "S" }, u.key),
      201,
    );
    const save = `/api/dataset/${d.id}/annotation-set/${set.id}/image/${img.id}/save-annotation/`;
    const good = {
      coordinates: [
        { x: 10, y: 10 },
        { x: 30, y: 40 },
      ],
      classes: ["car"],
    };
    await expectStatus(post(save, { objects: [good] }, u.key), 200);
    // What an older import left behind: x 100–100 (a box clamped from x 150–180).
    await inDataset(d.id, (db) =>
      db
        .prepare(
          `INSERT INTO annotation_objects (annotation_id, set_id, image_id, position, name, kind, coordinates)
           SELECT id, set_id, image_id, 2, 'OBJ 2', 'bbox', '[100,10,100,20]' FROM annotations WHERE set_id = ? AND image_id = ?`,
        )
        .bind(set.id, img.id)
        .run(),
    );

    const coco = await (await download(u, set.id, "coco")).json<any>();
    expect(coco.annotations.map((a: any) => [a.bbox, a.area])).toEqual([[[10, 10, 20, 30], 600]]);
    const yolo = await unzipText(await download(u, set.id, "yolo"));
    expect(yolo["labels/z.txt"]).toBe("0 0.200000 0.250000 0.200000 0.300000\n");
    const voc = await unzipText(await download(u, set.id, "voc"));
    expect(voc["Annotations/z.xml"].match(/<bndbox>/g)).toHaveLength(1);
    const csv = await (await download(u, set.id, "csv")).text();
    expect(csv).toBe("file_name,classes,xmin,ymin,xmax,ymax\nz.png,Car,10,10,30,40\n");
    const json = await (await download(u, set.id, "json")).json<any>();
    expect(json[0].annotations).toEqual([{ bbox: { xmax: 30, xmin: 10, ymax: 40, ymin: 10 }, classes: ["Car"] }]);
  });
});

describe("class names", () => {
  it("an imported class name over 255 characters is left out with a warning; the rest of the row imports", async () => {
    const u = await createUser();
    const long = "x".repeat(300);
    const { s, setId } = await upload(u, {
      "a.png": png(),
      "boxes.csv": `file_name,class_name,xmin,ymin,xmax,ymax\na.png,${long},1,1,20,20\na.png,car,5,5,30,30\n`,
    });
    expect(s.status, JSON.stringify(s)).toBe("done");
    expect(warningsOf(s, "boxes.csv")).toEqual([
      `Class name ${"x".repeat(40)}… (300 characters) is longer than 255 characters: left out`,
    ]);
    expect([...(await setObjects(setId)).values()].sort()).toEqual([[], ["Car"]]);
  });
});

describe("YOLO class indices", () => {
  it("a label whose index is past data.yaml's names is a warning naming file, line and index, and the line is skipped", async () => {
    const u = await createUser();
    const { s, setId } = await upload(u, {
      "images/a.png": png(),
      "labels/a.txt": "1 0.5 0.5 0.5 0.5\n3 0.5 0.5 0.4 0.4\n-1 0.1 0.1 0.1 0.1\n",
      "data.yaml": "path: .\nnames:\n  0: cat\n  1: dog\n  2: bird\n",
    });
    expect(s.status, JSON.stringify(s)).toBe("done");
    expect(warningsOf(s, "a.txt")).toEqual([
      "line 2: class index 3 is not in data.yaml (3 classes, ids 0–2); line skipped",
      "line 3: class index -1 is not in data.yaml (3 classes, ids 0–2); line skipped",
    ]);
    expect(await setObjects(setId)).toEqual(new Map([["a.png|25,25,75,75", ["Dog"]]]));
  });

  it("classes.txt becomes the set's ordered class list (unused classes kept) and YOLO export keeps the ids", async () => {
    const u = await createUser();
    // Binary-exact fractions of a 200-px image, so the pixel boxes export back to the same text.
    const labels = "2 0.500000 0.500000 0.500000 0.500000\n0 0.250000 0.250000 0.250000 0.250000\n";
    const { s, setId } = await upload(u, {
      "images/a.png": png(200, 200),
      "labels/a.txt": labels,
      "classes.txt": "cat\ndog\nbird\n",
    });
    expect(s.status, JSON.stringify(s)).toBe("done");
    const set = await expectStatus(get(`/api/v1/ui/annotation-sets/${setId}/`, u.key), 200);
    expect(set.classes.map((c: any) => c.name)).toEqual(["Cat", "Dog", "Bird"]);

    const first = await unzipText(await download(u, setId, "yolo"));
    expect(first["classes.txt"]).toBe("Cat\nDog\nBird\n");
    expect(first["labels/a.txt"]).toBe(labels);
    // Two exports of one set agree.
    expect(await unzipText(await download(u, setId, "yolo"))).toEqual(first);
  });
});

describe("VOC without <size> and COCO names with folders", () => {
  it("a VOC file without <size> is imported against the image's stored size", async () => {
    const u = await createUser();
    const { s, setId } = await upload(u, {
      "a.png": png(100, 80),
      "a.xml":
        "<annotation><filename>a.png</filename>" +
        "<object><name>car</name><bndbox><xmin>10</xmin><ymin>20</ymin><xmax>30</xmax><ymax>40</ymax></bndbox></object>" +
        "<object><name>bus</name><bndbox><xmin>90</xmin><ymin>70</ymin><xmax>150</xmax><ymax>150</ymax></bndbox></object></annotation>",
    });
    expect(s.status, JSON.stringify(s)).toBe("done");
    expect(await setObjects(setId)).toEqual(
      new Map([
        ["a.png|10,20,30,40", ["Car"]],
        ["a.png|90,70,100,80", ["Bus"]],
      ]),
    );
  });

  it("a COCO file_name with folders matches the image by its base name, and the session says so", async () => {
    const u = await createUser();
    const { s, setId } = await upload(
      u,
      {
        "img_001.png": png(),
        "coco.json": JSON.stringify({
          images: [{ id: 1, file_name: "train/img_001.png" }],
          annotations: [{ id: 1, image_id: 1, category_id: 1, segmentation: [[10, 10, 50, 10, 50, 40]] }],
          categories: [{ id: 1, name: "zebra" }],
        }),
      },
      "Instance segmentation",
    );
    expect(s.status, JSON.stringify(s)).toBe("done");
    expect(warningsOf(s, "coco.json")).toEqual([
      "1 file_name(s) matched no image exactly and were matched by base name: 'train/img_001.png' → 'img_001.png'",
    ]);
    expect(await setObjects(setId)).toEqual(new Map([["img_001.png|10,10,50,10,50,40", ["Zebra"]]]));
  });
});
