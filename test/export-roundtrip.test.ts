import { strFromU8, unzipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { parseCoco } from "../src/formats/import-coco";
import { parsePlainCsv } from "../src/formats/import-csv";
import { parseTagsCsv } from "../src/formats/import-tags";
import { parseVoc } from "../src/formats/import-voc";
import { parseYoloClasses, parseYoloLabels } from "../src/formats/import-yolo";
import type { ImportRecord } from "../src/formats/types";
import { get } from "./helpers/api";
import { createUser, type TestUser } from "./helpers/factories";
import { FIXTURE_SIZES, fixtureImages, seedFixtureSet, seedSet, type SeedImage } from "./helpers/seed-annotations";

/**
 * Exports of the fixture dataset parse back, with the project's own importers, to the boxes, classes and tags that
 * were exported. Boxes are compared as "class:xmin,ymin,xmax,ymax" per image (relative coordinates scaled back by
 * the image's size and rounded, as the importer's writer does).
 */
type Boxes = Map<string, string[]>;

function boxesOf(images: SeedImage[], lower = false): Boxes {
  return new Map(
    images.map((i) => [
      i.name,
      (i.objects ?? [])
        .map((o) => `${lower ? o.classes.join(";").toLowerCase() : o.classes.join(";")}:${o.coordinates.join(",")}`)
        .sort(),
    ]),
  );
}

function boxesFromRecords(records: ImportRecord[], lower = false): Boxes {
  const out: Boxes = new Map();
  for (const r of records) {
    const name =
      Object.keys(FIXTURE_SIZES).find((n) => n === r.fileName || n.replace(/\.jpg$/, "") === r.fileName) ?? r.fileName;
    const [w, h] = FIXTURE_SIZES[name] ?? [1, 1];
    const list = out.get(name) ?? [];
    for (const o of r.objects) {
      const c = o.relative
        ? o.coordinates.map((v, i) => Math.round(v * (i % 2 ? h : w)))
        : o.coordinates.map((v) => Math.round(v));
      list.push(`${lower ? o.classes.join(";").toLowerCase() : o.classes.join(";")}:${c.join(",")}`);
    }
    out.set(name, list.sort());
  }
  return out;
}

async function download(user: TestUser, setId: number, query: string): Promise<Response> {
  const res = await get(`/api/v1/ui/annotation-sets/${setId}/export/?${query}`, user.key);
  expect(res.status).toBe(200);
  return res;
}

const zip = async (res: Response) =>
  Object.fromEntries(
    Object.entries(unzipSync(new Uint8Array(await res.arrayBuffer()))).map(([k, v]) => [k, strFromU8(v)]),
  );

describe("export → import round trip (fixture dataset)", () => {
  it("CSV, in pixels and in percent, with and without full_path, parses back to the same boxes and classes", async () => {
    const u = await createUser();
    const s = await seedFixtureSet(u);
    const expected = boxesOf(await fixtureImages());
    for (const q of [
      "annotation_format=csv",
      "annotation_format=csv&export_coordinates=percent",
      "annotation_format=csv&full_path=true",
    ]) {
      const parsed = parsePlainCsv(await (await download(u, s.setId, q)).text(), "object_detection");
      expect(parsed, q).not.toBeNull();
      expect(parsed!.warnings).toEqual([]);
      expect(boxesFromRecords(parsed!.records), q).toEqual(expected);
    }
  });

  it("COCO parses back to the same boxes and (lower-cased) classes", async () => {
    const u = await createUser();
    const s = await seedFixtureSet(u);
    const parsed = await parseCoco(
      await (await download(u, s.setId, "annotation_format=coco")).text(),
      "object_detection",
    );
    expect(parsed).not.toBeNull();
    expect(boxesFromRecords(parsed!.records, true)).toEqual(boxesOf(await fixtureImages(), true));
  });

  it("Pascal VOC and YOLO zips parse back to the same boxes and classes", async () => {
    const u = await createUser();
    const s = await seedFixtureSet(u);
    const expected = boxesOf(await fixtureImages());
    const voc = await zip(await download(u, s.setId, "annotation_format=voc"));
    const vocRecords = Object.entries(voc).flatMap(([, xml]) => parseVoc(xml, "object_detection")!.records);
    expect(boxesFromRecords(vocRecords)).toEqual(expected);

    const yolo = await zip(await download(u, s.setId, "annotation_format=yolo"));
    const classes = parseYoloClasses("classes.txt", yolo["classes.txt"]);
    const yoloRecords = Object.entries(yolo)
      .filter(([name]) => name.startsWith("labels/"))
      .flatMap(([name, text]) => parseYoloLabels(name, text, classes, "object_detection")!.records);
    expect(boxesFromRecords(yoloRecords)).toEqual(expected);
  });

  it("tags.csv (export_tags=true, and export-tags) parses back to the fixture's tags", async () => {
    const u = await createUser();
    const s = await seedFixtureSet(u);
    const expected = new Map((await fixtureImages()).filter((i) => i.tags!.length).map((i) => [i.name, i.tags]));
    for (const files of [
      await zip(await download(u, s.setId, "annotation_format=json&export_tags=true")),
      { "tags.csv": await (await get(`/api/v1/ui/annotation-sets/${s.setId}/export-tags/`, u.key)).text() },
    ]) {
      const parsed = parseTagsCsv(files["tags.csv"]);
      expect(parsed).not.toBeNull();
      expect(new Map(parsed!.records.map((r) => [r.fileName, r.tags]))).toEqual(expected);
    }
  });

  it("classification CSV and VOC, and segmentation COCO and YOLO, parse back too", async () => {
    const u = await createUser();
    const ic = await seedSet(u, {
      task: "image_classification",
      images: [
        { name: "c1.jpg", width: 10, height: 10, classes: ["Cat", "Pet"] },
        { name: "c2.jpg", width: 10, height: 10, classes: ["Dog"] },
      ],
    });
    const csv = parsePlainCsv(
      await (await download(u, ic.setId, "annotation_format=csv")).text(),
      "image_classification",
    )!;
    expect(csv.records.map((r) => [r.fileName, r.classes])).toEqual([
      ["c1.jpg", ["Cat", "Pet"]],
      ["c2.jpg", ["Dog"]],
    ]);
    const voc = await zip(await download(u, ic.setId, "annotation_format=voc"));
    expect(Object.values(voc).map((x) => parseVoc(x, "image_classification")!.records[0].classes)).toEqual([
      ["Cat", "Pet"],
      ["Dog"],
    ]);

    const polygon = [10, 10, 50, 10, 30, 40];
    const seg = await seedSet(u, {
      task: "instance_segmentation",
      images: [
        {
          name: "s.jpg",
          width: 100,
          height: 50,
          objects: [{ kind: "polygon", coordinates: polygon, classes: ["Zebra"] }],
        },
      ],
    });
    const coco = await parseCoco(
      await (await download(u, seg.setId, "annotation_format=coco")).text(),
      "instance_segmentation",
    );
    expect(coco!.records[0].objects).toMatchObject([{ kind: "polygon", coordinates: polygon, classes: ["zebra"] }]);
    const yolo = await zip(await download(u, seg.setId, "annotation_format=yolo"));
    const rec = parseYoloLabels(
      "labels/s.txt",
      yolo["labels/s.txt"],
      parseYoloClasses("classes.txt", yolo["classes.txt"]),
      "instance_segmentation",
    )!.records[0];
    expect(rec.objects[0].classes).toEqual(["Zebra"]);
    expect(rec.objects[0].coordinates.map((v, i) => Math.round(v * (i % 2 ? 50 : 100)))).toEqual(polygon);
  });
});
