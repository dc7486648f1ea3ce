import { unzipSync, strFromU8 } from "fflate";
import { describe, expect, it } from "vitest";
import { call, expectError, get } from "./helpers/api";
import { createUser, makePublic } from "./helpers/factories";
import { fixtureText, seedFixtureSet, seedSet } from "./helpers/seed-annotations";

const exportUrl = (setId: number, query = "") =>
  `/api/v1/ui/annotation-sets/${setId}/export/${query ? `?${query}` : ""}`;

async function body(res: Response, status = 200): Promise<string> {
  const text = await res.text();
  expect(res.status, text.slice(0, 500)).toBe(status);
  return text;
}

async function zipEntries(res: Response): Promise<Record<string, string>> {
  expect(res.status).toBe(200);
  const files = unzipSync(new Uint8Array(await res.arrayBuffer()));
  return Object.fromEntries(Object.entries(files).map(([k, v]) => [k, strFromU8(v)]));
}

describe("GET export: Remo JSON", () => {
  it("writes one sorted-key, 2-space-indented element per annotated image, as Python's json.dump does", async () => {
    const u = await createUser();
    const s = await seedFixtureSet(u, "Fixture set");
    const res = await get(exportUrl(s.setId), u.key);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(res.headers.get("content-disposition")).toBe('filename="Fixture set.json"');
    const text = await body(res);
    expect(
      text.startsWith(
        '[\n  {\n    "annotations": [\n      {\n        "bbox": {\n          "xmax": 899,\n          "xmin": 88,\n          "ymax": 675,\n          "ymin": 128\n        },\n        "classes": [\n          "Car"\n        ]\n      },',
      ),
    ).toBe(true);
    const data = JSON.parse(text);
    expect(data).toHaveLength(7);
    expect(Object.keys(data[0])).toEqual(["annotations", "file_name", "height", "tags", "task", "width"]);
    expect(data[0]).toMatchObject({
      file_name: "001a809ad40a2f84.jpg",
      width: 1024,
      height: 768,
      tags: ["train"],
      task: "Object detection",
    });
    expect(data[0].annotations).toHaveLength(8);
    const total = data.reduce((n: number, e: { annotations: unknown[] }) => n + e.annotations.length, 0);
    expect(total).toBe(40);
  });

  it("writes fractions of width and height (0..1, Python floats) with export_coordinates=percent", async () => {
    const u = await createUser();
    const s = await seedFixtureSet(u);
    const text = await body(await get(exportUrl(s.setId, "export_coordinates=percent"), u.key));
    const data = JSON.parse(text);
    expect(data[0].annotations[0].bbox).toEqual({
      xmin: 88 / 1024,
      ymin: 128 / 768,
      xmax: 899 / 1024,
      ymax: 675 / 768,
    });
    // 00d2a568dd4afd0d.jpg's first car starts at x = 0: Python prints the float 0.0, not 0.
    expect(text).toContain('"xmin": 0.0,');
    for (const e of data)
      for (const a of e.annotations)
        for (const v of Object.values(a.bbox) as number[])
          (expect(v).toBeGreaterThanOrEqual(0), expect(v).toBeLessThanOrEqual(1));
  });

  it("writes the R2 key of linked images with full_path=true, and base names otherwise", async () => {
    const u = await createUser();
    const s = await seedSet(u, {
      task: "object_detection",
      images: [
        {
          name: "linked.jpg",
          width: 100,
          height: 100,
          linkedKey: "bucket/folder/linked.jpg",
          tags: ["t1"],
          objects: [{ coordinates: [1, 2, 3, 4], classes: ["Cat"] }],
        },
        { name: "copied.jpg", width: 100, height: 100, objects: [{ coordinates: [1, 2, 3, 4], classes: ["Dog"] }] },
      ],
    });
    const full = JSON.parse(await body(await get(exportUrl(s.setId, "full_path=true"), u.key)));
    expect(full.map((e: { file_name: string }) => e.file_name)).toEqual(["bucket/folder/linked.jpg", "copied.jpg"]);
    const base = JSON.parse(await body(await get(exportUrl(s.setId, "full_path=false"), u.key)));
    expect(base.map((e: { file_name: string }) => e.file_name)).toEqual(["linked.jpg", "copied.jpg"]);
    // tags.csv always names images by their base name, even with full_path=true (remo-reference §5.4).
    const zipped = await zipEntries(
      await get(exportUrl(s.setId, "annotation_format=csv&full_path=true&export_tags=true"), u.key),
    );
    const tags = zipped["tags.csv"];
    expect(tags).toBe("file_name,tag\nlinked.jpg,t1\n");
  });

  it("adds images without annotations (annotations: []) only with export_without_annotations=true", async () => {
    const u = await createUser();
    const s = await seedSet(u, {
      task: "object_detection",
      images: [
        { name: "a.jpg", width: 10, height: 10, objects: [{ coordinates: [1, 1, 5, 5], classes: ["Cat"] }] },
        { name: "empty.jpg", width: 10, height: 10 },
        { name: "tagged.jpg", width: 10, height: 10, tags: ["keep"] },
      ],
    });
    const without = JSON.parse(await body(await get(exportUrl(s.setId), u.key)));
    expect(without.map((e: { file_name: string }) => e.file_name)).toEqual(["a.jpg", "tagged.jpg"]);
    const all = JSON.parse(await body(await get(exportUrl(s.setId, "export_without_annotations=true"), u.key)));
    expect(all.map((e: { file_name: string }) => e.file_name)).toEqual(["a.jpg", "empty.jpg", "tagged.jpg"]);
    expect(all[1]).toEqual({
      annotations: [],
      file_name: "empty.jpg",
      height: 10,
      tags: [],
      task: "Object detection",
      width: 10,
    });
    expect(all[2].tags).toEqual(["keep"]);
  });

  it("writes classification and segmentation elements", async () => {
    const u = await createUser();
    const ic = await seedSet(u, {
      task: "image_classification",
      images: [{ name: "c.jpg", width: 8, height: 8, classes: ["Cat", "Pet"], tags: ["x"] }],
    });
    expect(JSON.parse(await body(await get(exportUrl(ic.setId), u.key)))).toEqual([
      { classes: ["Cat", "Pet"], file_name: "c.jpg", height: 8, tags: ["x"], task: "Image classification", width: 8 },
    ]);
    const seg = await seedSet(u, {
      task: "instance_segmentation",
      images: [
        {
          name: "s.jpg",
          width: 100,
          height: 50,
          objects: [{ kind: "polygon", coordinates: [10, 10, 50, 10, 30, 40], classes: ["Zebra"] }],
        },
      ],
    });
    const [el] = JSON.parse(await body(await get(exportUrl(seg.setId), u.key)));
    expect(el.annotations).toEqual([
      {
        classes: ["Zebra"],
        segments: [
          { x: 10, y: 10 },
          { x: 50, y: 10 },
          { x: 30, y: 40 },
        ],
      },
    ]);
    expect(el.task).toBe("Instance segmentation");
  });

  it("escapes non-ASCII as Python's ensure_ascii does and still names the file", async () => {
    const u = await createUser();
    const s = await seedSet(u, {
      setName: "Été",
      task: "object_detection",
      images: [
        { name: "café.jpg", width: 10, height: 10, objects: [{ coordinates: [0, 0, 5, 5], classes: ["Crème"] }] },
      ],
    });
    const res = await get(exportUrl(s.setId), u.key);
    expect(res.headers.get("content-disposition")).toBe(
      `filename="_t_.json"; filename*=UTF-8''${encodeURIComponent("Été.json")}`,
    );
    const text = await body(res);
    expect(text).toContain('"file_name": "caf\\u00e9.jpg"');
    expect(JSON.parse(text)[0].annotations[0].classes).toEqual(["Crème"]);
  });
});

describe("GET export: a consistent view", () => {
  it("leaves out images added after the export was planned, so COCO's two passes agree", async () => {
    const { exportFile, planExport } = await import("../src/services/export/stream");
    const { parseExportParams } = await import("../src/services/export/params");
    const { insertImage } = await import("./helpers/factories");
    const { inDataset } = await import("./helpers/dataset-rows");
    const u = await createUser();
    const s = await seedFixtureSet(u, "Fixture set");
    const set = {
      id: s.setId,
      name: s.setName,
      task: "object_detection" as const,
      datasetId: s.datasetId,
      ownerId: u.id,
    };
    // The services run where the dataset lives (D1, or its DatasetStore: test/helpers/dataset-rows.ts).
    const plan = await inDataset(s.datasetId, (db) =>
      planExport(db, set, parseExportParams({ annotation_format: "coco", export_without_annotations: "true" })),
    );
    await insertImage(s.datasetId, { name: "late.jpg" });
    const text = await inDataset(s.datasetId, async (db) => {
      let out = "";
      for await (const c of exportFile(db, plan).body) out += new TextDecoder().decode(c);
      return out;
    });
    const coco = JSON.parse(text);
    expect(coco.images.map((i: { file_name: string }) => i.file_name)).not.toContain("late.jpg");
    expect(coco.images).toHaveLength(7);
    expect(
      JSON.parse(
        await body(await get(exportUrl(s.setId, "annotation_format=coco&export_without_annotations=true"), u.key)),
      ).images,
    ).toHaveLength(8);
  });
});

describe("GET export: CSV", () => {
  it("reproduces the fixture's own Remo CSV export byte for byte", async () => {
    const u = await createUser();
    const s = await seedFixtureSet(u, "Fixture set");
    const res = await get(exportUrl(s.setId, "annotation_format=csv"), u.key);
    expect(res.headers.get("content-type")).toBe("text/csv");
    expect(res.headers.get("content-disposition")).toBe('filename="Fixture set.csv"');
    const expected = (await fixtureText("annotations.csv")).replace(/\r\n/g, "\n");
    expect(await body(res)).toBe(expected.endsWith("\n") ? expected : expected + "\n");
  });

  it("joins several classes with '; ', quotes fields that need it, and writes segmentation coordinates", async () => {
    const u = await createUser();
    const od = await seedSet(u, {
      task: "object_detection",
      images: [
        {
          name: "a,b.jpg",
          width: 100,
          height: 100,
          objects: [{ coordinates: [1.9, 2, 30, 40], classes: ["Car", "Red car"] }],
        },
      ],
    });
    expect(await body(await get(exportUrl(od.setId, "annotation_format=csv"), u.key))).toBe(
      'file_name,classes,xmin,ymin,xmax,ymax\n"a,b.jpg",Car; Red car,1,2,30,40\n',
    );
    const seg = await seedSet(u, {
      task: "instance_segmentation",
      images: [
        {
          name: "s.jpg",
          width: 100,
          height: 50,
          objects: [{ kind: "polygon", coordinates: [10, 10, 50, 10, 30, 40], classes: ["Zebra"] }],
        },
      ],
    });
    expect(await body(await get(exportUrl(seg.setId, "annotation_format=csv&export_coordinates=percent"), u.key))).toBe(
      "file_name,classes,coordinates\ns.jpg,Zebra,0.1; 0.2; 0.5; 0.2; 0.3; 0.8\n",
    );
    const ic = await seedSet(u, {
      task: "image_classification",
      images: [
        { name: "c.jpg", width: 8, height: 8, classes: ["Cat", "Pet"] },
        { name: "n.jpg", width: 8, height: 8 },
      ],
    });
    expect(
      await body(await get(exportUrl(ic.setId, "annotation_format=csv&export_without_annotations=true"), u.key)),
    ).toBe("file_name,classes\nc.jpg,Cat; Pet\nn.jpg,\n");
  });
});

describe("GET export: COCO", () => {
  it("validates: every image_id and category_id resolves, every bbox is [x, y, w, h] inside its image", async () => {
    const u = await createUser();
    const s = await seedFixtureSet(u, "Fixture set");
    const res = await get(exportUrl(s.setId, "annotation_format=coco"), u.key);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(res.headers.get("content-disposition")).toBe('filename="Fixture set.json"');
    const text = await body(res);
    const coco = JSON.parse(text);
    expect(Object.keys(coco)).toEqual(["annotations", "categories", "images", "info", "licences"]);
    expect(coco.licences).toEqual([{ id: "", name: "", url: "" }]);
    expect(coco.info).toEqual({ contributor: "", date_created: "", description: "", url: "", version: "", year: "" });
    expect(coco.images).toHaveLength(7);
    expect(coco.annotations).toHaveLength(40);
    const images = new Map<number, { width: number; height: number }>(coco.images.map((i: any) => [i.id, i]));
    const cats = new Map<number, any>(coco.categories.map((c: any) => [c.id, c]));
    for (const a of coco.annotations) {
      const img = images.get(a.image_id)!;
      expect(img, `image ${a.image_id}`).toBeDefined();
      expect(cats.has(a.category_id), `category ${a.category_id}`).toBe(true);
      const [x, y, w, h] = a.bbox;
      expect(x).toBeGreaterThanOrEqual(0);
      expect(y).toBeGreaterThanOrEqual(0);
      expect(w).toBeGreaterThan(0);
      expect(h).toBeGreaterThan(0);
      expect(x + w).toBeLessThanOrEqual(img.width);
      expect(y + h).toBeLessThanOrEqual(img.height);
      expect(a.area).toBe(w * h);
      expect(a.segmentation).toEqual([[x, y, x, y + h, x + w, y + h, x + w, y]]);
      expect(a.iscrowd).toBe(0);
    }
    // Standard COCO names keep their ids and supercategories; others get ids above 90, named and lower-cased.
    const byName = new Map<string, any>(coco.categories.map((c: any) => [c.name, c]));
    expect(byName.get("car")).toEqual({ id: 3, name: "car", supercategory: "vehicle" });
    expect(byName.get("person")).toEqual({ id: 1, name: "person", supercategory: "person" });
    expect(byName.get("human body").id).toBeGreaterThan(90);
    expect(byName.get("human body").supercategory).toBe("human body");
    expect([...byName.keys()].sort()).toEqual([
      "car",
      "human body",
      "land vehicle",
      "person",
      "plant",
      "tire",
      "vehicle",
      "vehicle registration plate",
      "wheel",
    ]);
    const first = coco.images[0];
    expect(first).toEqual({
      date_captured: "",
      file_name: "001a809ad40a2f84.jpg",
      height: 768,
      id: s.imageIds.get("001a809ad40a2f84.jpg"),
      license: 0,
      url: "",
      width: 1024,
    });
    expect(text.startsWith('{\n  "annotations": [\n    {\n      "area": 443617,\n      "bbox": [\n        88,\n')).toBe(
      true,
    );
  });

  it("lists the set's classes as categories even when no object uses them, and extra classes in other_categories", async () => {
    const u = await createUser();
    const s = await seedSet(u, {
      task: "object_detection",
      classes: ["Zebra", "Unused thing"],
      images: [
        {
          name: "z.jpg",
          width: 100,
          height: 100,
          objects: [{ coordinates: [10, 10, 20, 20], classes: ["Zebra", "Dog"] }],
        },
      ],
    });
    const coco = JSON.parse(await body(await get(exportUrl(s.setId, "annotation_format=coco"), u.key)));
    expect(coco.categories).toEqual([
      { id: 18, name: "dog", supercategory: "animal" },
      { id: 24, name: "zebra", supercategory: "animal" },
      { id: 91, name: "unused thing", supercategory: "unused thing" },
    ]);
    expect(coco.annotations[0]).toMatchObject({ category_id: 24, other_categories: [18] });
  });

  it("writes polygons for segmentation (area 0, bbox = the extent) and an empty annotation for unannotated images", async () => {
    const u = await createUser();
    const s = await seedSet(u, {
      task: "instance_segmentation",
      images: [
        {
          name: "s.jpg",
          width: 100,
          height: 50,
          objects: [{ kind: "polygon", coordinates: [10, 10, 50, 10, 30, 40], classes: ["Zebra"] }],
        },
        { name: "e.jpg", width: 100, height: 50 },
      ],
    });
    const coco = JSON.parse(
      await body(await get(exportUrl(s.setId, "annotation_format=coco&export_without_annotations=true"), u.key)),
    );
    expect(coco.annotations[0]).toMatchObject({
      segmentation: [[10, 10, 50, 10, 30, 40]],
      area: 0,
      bbox: [10, 10, 40, 30],
      category_id: 24,
    });
    expect(coco.annotations[1]).toEqual({
      area: 0,
      bbox: [],
      category_id: 0,
      id: 0,
      image_id: s.imageIds.get("e.jpg"),
      iscrowd: 0,
      segmentation: [],
    });
    expect(coco.images).toHaveLength(2);
  });
});

describe("GET export: tags, filters, zips", () => {
  it("with export_tags=true answers annotations.zip holding tags.csv and '<set name>.<ext>'", async () => {
    const u = await createUser();
    const s = await seedFixtureSet(u, "Fixture set");
    const res = await get(exportUrl(s.setId, "annotation_format=csv&export_tags=true"), u.key);
    expect(res.headers.get("content-type")).toBe("application/zip");
    expect(res.headers.get("content-disposition")).toBe('attachment; filename="annotations.zip"');
    const files = await zipEntries(res);
    expect(Object.keys(files).sort()).toEqual(["Fixture set.csv", "tags.csv"]);
    const tagRows = (await fixtureText("images_tags.csv")).trim().split(/\r?\n/);
    const got = files["tags.csv"].trim().split("\n");
    expect(got[0]).toBe("file_name,tag");
    expect(got.slice(1).sort()).toEqual(tagRows.slice(1).sort());
    expect(files["Fixture set.csv"].split("\n")[1]).toBe("001a809ad40a2f84.jpg,Car,88,128,899,675");
  });

  it("answers as the SDK's export_annotations asks (full_path=true&export_tags=true, its defaults)", async () => {
    const u = await createUser();
    const s = await seedFixtureSet(u, "sdk");
    const files = await zipEntries(
      await get(
        exportUrl(s.setId, "annotation_format=coco&export_coordinates=pixel&full_path=true&export_tags=true"),
        u.key,
      ),
    );
    expect(JSON.parse(files["sdk.json"]).annotations).toHaveLength(40);
  });

  it("keeps images having any of filter_by_tags (case-insensitive); no match is an empty but valid file", async () => {
    const u = await createUser();
    const s = await seedFixtureSet(u);
    const some = JSON.parse(await body(await get(exportUrl(s.setId, "filter_by_tags=VALID,test"), u.key)));
    expect(some.map((e: { file_name: string }) => e.file_name)).toEqual([
      "00b75a8487446cdd.jpg",
      "00acf53b127218c2.jpg",
    ]);
    expect(await body(await get(exportUrl(s.setId, "filter_by_tags=nothing-has-this"), u.key))).toBe("[]");
    expect(
      await body(await get(exportUrl(s.setId, "annotation_format=csv&filter_by_tags=nothing-has-this"), u.key)),
    ).toBe("file_name,classes,xmin,ymin,xmax,ymax\n");
    const coco = JSON.parse(
      await body(await get(exportUrl(s.setId, "annotation_format=coco&filter_by_tags=nothing-has-this"), u.key)),
    );
    expect(coco.annotations).toEqual([]);
    expect(coco.images).toEqual([]);
    expect(coco.categories.length).toBe(9);
    const count = await (
      await get(`/api/v1/ui/annotation-sets/${s.setId}/export-count/?filter_by_tags=train`, u.key)
    ).json();
    expect(count).toEqual({ count: 4 });
    expect(await (await get(`/api/v1/ui/annotation-sets/${s.setId}/export-count/`, u.key)).json()).toEqual({
      count: 7,
    });
  });

  it("export-tags answers tags.csv alone", async () => {
    const u = await createUser();
    const s = await seedFixtureSet(u);
    const res = await get(`/api/v1/ui/annotation-sets/${s.setId}/export-tags/`, u.key);
    expect(res.headers.get("content-type")).toBe("text/csv");
    const lines = (await body(res)).trim().split("\n");
    expect(lines[0]).toBe("file_name,tag");
    expect(lines).toHaveLength(7);
    expect(lines).toContain("00acf53b127218c2.jpg,test");
  });

  it("writes YOLO (labels/*.txt + classes.txt) and Pascal VOC (Annotations/*.xml) zips", async () => {
    const u = await createUser();
    const s = await seedFixtureSet(u, "Fixture set");
    const yolo = await zipEntries(await get(exportUrl(s.setId, "annotation_format=yolo"), u.key));
    expect(Object.keys(yolo)).toHaveLength(8);
    const classes = yolo["classes.txt"].trim().split("\n");
    expect(classes[0]).toBe("Car");
    const [k, cx, cy, w, h] = yolo["labels/001a809ad40a2f84.txt"].split("\n")[0].split(" ");
    expect(classes[Number(k)]).toBe("Car");
    expect(Number(cx)).toBeCloseTo((88 + 899) / 2 / 1024, 5);
    expect(Number(cy)).toBeCloseTo((128 + 675) / 2 / 768, 5);
    expect(Number(w)).toBeCloseTo((899 - 88) / 1024, 5);
    expect(Number(h)).toBeCloseTo((675 - 128) / 768, 5);
    const voc = await zipEntries(await get(exportUrl(s.setId, "annotation_format=voc"), u.key));
    const xml = voc["Annotations/001a809ad40a2f84.xml"];
    expect(xml).toContain("<filename>001a809ad40a2f84.jpg</filename>");
    expect(xml).toContain("<width>1024</width>");
    expect(xml).toContain("<name>Car</name>");
    expect(xml).toContain("<xmin>88</xmin>");
    expect((xml.match(/<object>/g) ?? []).length).toBe(8);
  });
});

describe("GET export: bad input and access", () => {
  it("answers Remo's 400 text for an unknown format, coordinates or boolean", async () => {
    const u = await createUser();
    const s = await seedFixtureSet(u);
    await expectError(
      get(exportUrl(s.setId, "annotation_format=xml"), u.key),
      400,
      /^Exporter parameter annotation_format can be: json, coco, csv, yolo or voc$/,
    );
    await expectError(
      get(exportUrl(s.setId, "export_coordinates=inches"), u.key),
      400,
      /^Exporter parameter export_coordinates can be: pixel or percent$/,
    );
    await expectError(
      get(exportUrl(s.setId, "full_path=yes"), u.key),
      400,
      /^Exporter parameter full_path can be: true or false$/,
    );
    await expectError(
      get(exportUrl(s.setId, "export_tags=maybe"), u.key),
      400,
      /^Exporter parameter export_tags can be: true or false$/,
    );
    await expectError(
      get(exportUrl(s.setId, "export_without_annotations=2"), u.key),
      400,
      /export_without_annotations/,
    );
    await expectError(get(exportUrl(s.setId, "export_classes=nope"), u.key), 400, /export_classes/);
    await expectError(
      get(exportUrl(s.setId, "class_encoding=Klingon"), u.key),
      400,
      /class_encoding can be: autodetect, WordNet or GoogleKnowledgeGraph/,
    );
    await expectError(get(`/api/v1/ui/annotation-sets/abc/export/`, u.key), 400);
    await expectError(get(`/api/v1/ui/annotation-sets/0/export-count/`, u.key), 400);
    await expectError(get(`/api/v1/ui/annotation-sets/-3/export-tags/`, u.key), 400);
  });

  it("answers Remo's 404 for a task/format pair without an exporter", async () => {
    const u = await createUser();
    const ic = await seedSet(u, {
      task: "image_classification",
      images: [{ name: "c.jpg", width: 8, height: 8, classes: ["Cat"] }],
    });
    await expectError(
      get(exportUrl(ic.setId, "annotation_format=yolo"), u.key),
      404,
      "Exporter for Image classification task in format yolo not implemented",
    );
  });

  it("hides another user's private set (404, also for export-count and export-tags) and serves a public one", async () => {
    const owner = await createUser();
    const other = await createUser();
    const s = await seedFixtureSet(owner);
    const missing = await expectError(get(exportUrl(s.setId), other.key), 404);
    expect(missing.detail).toBe("Not found.");
    await expectError(get(`/api/v1/ui/annotation-sets/${s.setId}/export-count/`, other.key), 404);
    await expectError(get(`/api/v1/ui/annotation-sets/${s.setId}/export-tags/`, other.key), 404);
    await expectError(get(exportUrl(999_999_999), owner.key), 404);
    await expectError(get(exportUrl(s.setId)), 401);
    await makePublic(owner, s.datasetId);
    expect(JSON.parse(await body(await get(exportUrl(s.setId), other.key)))).toHaveLength(7);
  });

  it("accepts the API reference's own example, whose values are quoted ('json', 'true', 'percent')", async () => {
    const u = await createUser();
    const s = await seedFixtureSet(u);
    const res = await call(
      "GET",
      exportUrl(s.setId, "annotation_format='json'&full_path='true'&export_coordinates='percent'"),
      { key: u.key },
    );
    const data = JSON.parse(await body(res));
    expect(data[0].annotations[0].bbox.xmin).toBe(88 / 1024);
    await expectError(get(exportUrl(s.setId, "annotation_format='xml'"), u.key), 400, /annotation_format can be/);
  });
});

describe("OpenAPI", () => {
  it("documents the export, export-tags, export-count, exports and job routes", async () => {
    const doc = await (await get("/openapi.json")).json<{ paths: Record<string, Record<string, unknown>> }>();
    for (const p of ["export", "export-tags", "export-count"])
      expect(doc.paths[`/api/v1/ui/annotation-sets/{id}/${p}`]?.get, p).toBeDefined();
    expect(doc.paths["/api/v1/ui/annotation-sets/{id}/exports"]?.post).toBeDefined();
    expect(doc.paths["/api/v1/jobs/{id}"]?.get).toBeDefined();
  });
});
