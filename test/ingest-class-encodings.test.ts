import { datasetD1 } from "./helpers/dataset-rows";
import { describe, expect, it } from "vitest";
import { expectStatus } from "./helpers/api";
import { createDataset, createUser } from "./helpers/factories";
import { makeJpeg } from "./helpers/image-fixtures";
import {
  sessionSetId,
  setClassNames as classesOf,
  setObjects,
  type Part,
  uploadMultipart,
  waitForSession,
} from "./helpers/upload-helpers";

// Generated pictures of distinct sizes (so no two share a checksum): the tests need no fixture files.
const jpeg = (w: number) => makeJpeg(w, 100);

async function upload(files: Part[], fields: Record<string, string>) {
  const u = await createUser();
  const ds = await createDataset(u);
  const r = await expectStatus(uploadMultipart(u.key, ds.id, files, { complete: "true", ...fields }), 200);
  const s = await waitForSession(u.key, r.session_id);
  return { s, setId: await sessionSetId(r.session_id) };
}

const imageClasses = async (setId: number) =>
  (
    await datasetD1({ setId }).prepare(
      `SELECT i.original_name AS img, c.name AS cls FROM annotation_classes ac JOIN images i ON i.id = ac.image_id
       JOIN classes c ON c.id = ac.class_id WHERE ac.set_id = ? AND ac.object_id IS NULL ORDER BY img, cls`,
    )
      .bind(setId)
      .all<{ img: string; cls: string }>()
  ).results.map((r) => `${r.img}: ${r.cls}`);

const OPEN_IMAGES_HEADER =
  "ImageID,Source,LabelName,Confidence,XMin,XMax,YMin,YMax,IsOccluded,IsTruncated,IsGroupOf,IsDepiction,IsInside";

describe("class encodings through an upload (issue 11, remo-reference §4.1, §4.3, §4.6, §4.7)", () => {
  it("an Open Images CSV's /m/ labels become their names (Remo's notebooks: Fruit, Sports equipment)", async () => {
    const csv = [
      OPEN_IMAGES_HEADER,
      "0001eeaf4aed83f9,xclick,/m/02xwb,1,0.1,0.5,0.1,0.5,0,0,0,0,0",
      "0001eeaf4aed83f9,xclick,/m/05y5lj,1,0.5,0.9,0.5,0.9,0,0,0,0,0",
      "000595fe6fee6369,xclick,/m/0cmf2,1,0.2,0.4,0.2,0.4,0,0,0,0,0",
    ].join("\n");
    const { s, setId } = await upload(
      [
        { name: "0001eeaf4aed83f9.jpg", bytes: jpeg(200) },
        { name: "000595fe6fee6369.jpg", bytes: jpeg(201) },
        { name: "open_sample.csv", bytes: csv },
      ],
      // As the SDK sends `class_encoding="GoogleKnowledgeGraph"` in a multipart upload.
      { annotation_task: "Object detection", class_encoding_type: "GoogleKnowledgeGraph" },
    );
    expect(s.status, JSON.stringify(s)).toBe("done");
    expect(s.annotations.warnings, JSON.stringify(s)).toEqual([]);
    expect(await classesOf(setId)).toEqual(["Airplane", "Fruit", "Sports equipment"]);
    expect(await setObjects(setId)).toEqual(
      new Map([
        ["0001eeaf4aed83f9.jpg|20,10,100,50", ["Fruit"]],
        ["0001eeaf4aed83f9.jpg|100,50,180,90", ["Sports equipment"]],
        ["000595fe6fee6369.jpg|40,20,80,40", ["Airplane"]],
      ]),
    );
  });

  it("a VOC file whose object name is a synset id gets the synset's first name (n02084071 → Dog)", async () => {
    const voc = (file: string, name: string) =>
      `<annotation><filename>${file}</filename><size><width>202</width><height>100</height><depth>3</depth></size>` +
      `<object><name>${name}</name><bndbox><xmin>1</xmin><ymin>2</ymin><xmax>30</xmax><ymax>40</ymax></bndbox></object></annotation>`;
    const { s, setId } = await upload(
      [
        { name: "dog.jpg", bytes: jpeg(202) },
        { name: "snake.jpg", bytes: jpeg(203) },
        { name: "dog.xml", bytes: voc("dog.jpg", "n02084071") },
        // Capitalised as in the SDK's own example (`N01751748`).
        { name: "snake.xml", bytes: voc("snake.jpg", "N01751748") },
      ],
      { annotation_task: "Image classification", class_encoding_type: "WordNet" },
    );
    expect(s.status, JSON.stringify(s)).toBe("done");
    expect(await imageClasses(setId)).toEqual(["dog.jpg: Dog", "snake.jpg: Sea snake"]);
  });

  it("decodes COCO category names and YOLO classes.txt too, but never tags", async () => {
    const coco = {
      images: [{ id: 1, file_name: "c.jpg", width: 204, height: 100 }],
      categories: [{ id: 7, name: "/m/02xwb" }],
      annotations: [
        { id: 1, image_id: 1, category_id: 7, bbox: [1, 2, 10, 10], segmentation: [], area: 100, iscrowd: 0 },
      ],
    };
    const { s, setId } = await upload(
      [
        { name: "c.jpg", bytes: jpeg(204) },
        { name: "coco.json", bytes: JSON.stringify(coco) },
        { name: "tags.csv", bytes: "file_name,tag\nc.jpg,/m/02xwb\n" },
      ],
      { annotation_task: "Object detection" },
    );
    expect(s.status, JSON.stringify(s)).toBe("done");
    expect(await setObjects(setId)).toEqual(new Map([["c.jpg|1,2,11,12", ["Fruit"]]]));
    const tags = await datasetD1({ setId }).prepare(
      "SELECT t.name FROM image_tags it JOIN tags t ON t.id = it.tag_id WHERE it.set_id = ?",
    )
      .bind(setId)
      .all<{ name: string }>();
    expect(tags.results.map((r) => r.name)).toEqual(["/m/02xwb"]);

    const yolo = await upload(
      [
        { name: "y.jpg", bytes: jpeg(205) },
        { name: "y.txt", bytes: "0 0.5 0.5 0.2 0.2\n" },
        { name: "classes.txt", bytes: "n01751748\n" },
      ],
      { annotation_task: "Object detection" },
    );
    expect(yolo.s.status, JSON.stringify(yolo.s)).toBe("done");
    expect(await classesOf(yolo.setId)).toEqual(["Sea snake"]);
  });

  it("keeps an id missing from the tables as it is, with one warning naming it for the session", async () => {
    const csv = (file: string) =>
      `file_name,class_name,xmin,ymin,xmax,ymax\n${file},/m/0zzzzzzz,1,2,30,40\n${file},/m/0zzzzzzz,5,5,9,9\n${file},n99999999,3,3,20,20\n`;
    const { s, setId } = await upload(
      [
        { name: "u.jpg", bytes: jpeg(206) },
        { name: "a.csv", bytes: csv("u.jpg") },
        { name: "b.csv", bytes: csv("u.jpg") },
      ],
      { annotation_task: "Object detection" },
    );
    expect(s.status, JSON.stringify(s)).toBe("done");
    expect(s.annotations.failed).toBe(0);
    const warnings = s.annotations.warnings.flatMap((w: { warnings: string[] }) => w.warnings);
    expect(warnings.sort()).toEqual([
      "Class /m/0zzzzzzz is not in the GoogleKnowledgeGraph table: kept as it is",
      "Class n99999999 is not in the WordNet table: kept as it is",
    ]);
    expect(await classesOf(setId)).toEqual(["/m/0zzzzzzz", "N99999999"]);
  });

  it("a custom encoding still wins over the tables for the labels it names", async () => {
    const { s, setId } = await upload(
      [
        { name: "k.jpg", bytes: jpeg(207) },
        { name: "k.csv", bytes: "file_name,class_name\nk.jpg,/m/02xwb\nk.jpg,/m/05y5lj\n" },
      ],
      {
        annotation_task: "Image classification",
        class_encoding_type: "custom",
        class_encoding_raw_content: "/m/02xwb,Apple",
      },
    );
    expect(s.status, JSON.stringify(s)).toBe("done");
    expect(await imageClasses(setId)).toEqual(["k.jpg: Apple", "k.jpg: Sports equipment"]);
  });
});

describe("the SDK's instance-segmentation CSV through an upload (issue 11, SDK SimpleCSVForInstanceSegmentation)", () => {
  it("imports file_name,class_name,coordinates rows as polygons, points joined by '; ' as the SDK writes them", async () => {
    // Python's csv.writer: CRLF line ends; classes joined by ';'; str() of each number joined by '; '.
    const csv =
      "file_name,class_name,coordinates\r\n" +
      "p.jpg,person,10; 20; 90; 20; 50; 80\r\n" +
      "p.jpg,dog;animal,100.5; 10.25; 150; 10; 150; 60; 100; 60\r\n" +
      "q.jpg,/m/02xwb,0.1; 0.1; 0.5; 0.1; 0.3; 0.5\r\n";
    const { s, setId } = await upload(
      [
        { name: "p.jpg", bytes: jpeg(208) },
        { name: "q.jpg", bytes: jpeg(210) },
        { name: "polygons.csv", bytes: csv },
      ],
      { annotation_task: "Instance segmentation" },
    );
    expect(s.status, JSON.stringify(s)).toBe("done");
    expect(s.annotations.errors, JSON.stringify(s)).toEqual([]);
    expect(s.annotations.successful).toBe(1);
    expect(await setObjects(setId)).toEqual(
      new Map([
        ["p.jpg|10,20,90,20,50,80", ["Person"]],
        ["p.jpg|100,10,150,10,150,60,100,60", ["Animal", "Dog"]],
        // Every number ≤ 1: fractions of the 210×100 image.
        ["q.jpg|21,10,105,10,63,50", ["Fruit"]],
      ]),
    );
    const kinds = await datasetD1({ setId }).prepare("SELECT DISTINCT kind FROM annotation_objects WHERE set_id = ?")
      .bind(setId)
      .all<{ kind: string }>();
    expect(kinds.results).toEqual([{ kind: "polygon" }]);
  });

  it("skips a row whose points are not a polygon with a warning, and keeps the rest", async () => {
    const csv =
      "file_name,class_name,coordinates\nr.jpg,cat,1; 2; 3\nr.jpg,cat,x; 2; 3; 4; 5; 6\nr.jpg,cat,1; 2; 30; 2; 30; 40\n";
    const { s, setId } = await upload(
      [
        { name: "r.jpg", bytes: jpeg(211) },
        { name: "bad.csv", bytes: csv },
      ],
      { annotation_task: "Instance segmentation" },
    );
    expect(s.status, JSON.stringify(s)).toBe("done");
    expect(s.annotations.warnings).toEqual([
      {
        filename: "bad.csv",
        warnings: [
          "line 2: coordinates are not a polygon of 3 or more x; y points",
          "line 3: coordinates are not a polygon of 3 or more x; y points",
        ],
      },
    ]);
    expect(await setObjects(setId)).toEqual(new Map([["r.jpg|1,2,30,2,30,40", ["Cat"]]]));
  });
});
