import { describe, expect, it } from "vitest";
import { decodeRleCounts, maskToPolygons, rleToMask, rleToPolygons } from "../src/formats/coco-rle";
import { parseCoco, CocoRefused } from "../src/formats/import-coco";
import { csvRows, parsePlainCsv } from "../src/formats/import-csv";
import { parseOpenImages } from "../src/formats/import-open-images";
import { parseTagsCsv } from "../src/formats/import-tags";
import { parseVoc, XmlRefused } from "../src/formats/import-voc";
import { parseYoloClasses, parseYoloLabels } from "../src/formats/import-yolo";

describe("CSV rows", () => {
  it("handles quotes, doubled quotes, CRLF, a BOM and blank lines", () => {
    const text = '\ufeffa,b\r\n"x, y","say ""hi"""\r\n\r\nlast,\n';
    expect([...csvRows(text)]).toEqual([
      ["a", "b"],
      ["x, y", 'say "hi"'],
      ["last", ""],
    ]);
  });
});

describe("plain CSV (Remo §4.1, §4.2)", () => {
  it("accepts every header alias, case-insensitively, and ignores unknown columns", () => {
    const p = parsePlainCsv(
      "Image ID,extra,LABEL NAME,X_1,y min,X Max,Y_2\nimg.jpg,z,Car,1,2,3,4\n",
      "object_detection",
    )!;
    expect(p.records).toEqual([
      {
        fileName: "img.jpg",
        match: "basename",
        objects: [{ classes: ["Car"], kind: "bbox", coordinates: [1, 2, 3, 4], source: "line 2" }],
        classes: [],
        tags: [],
      },
    ]);
  });

  it("splits ; classes (trimmed), marks fractions relative only when all four are ≤ 1, and non-numbers become 0", () => {
    const p = parsePlainCsv(
      "file_name,classes,xmin,ymin,xmax,ymax\na.jpg,Car; person;,0.1,0.2,0.5,1\na.jpg,Dog,x,2,300,4\n",
      "object_detection",
    )!;
    expect(p.records[0].objects).toEqual([
      { classes: ["Car", "person"], kind: "bbox", coordinates: [0.1, 0.2, 0.5, 1], relative: true, source: "line 2" },
      { classes: ["Dog"], kind: "bbox", coordinates: [0, 2, 300, 4], source: "line 3" },
    ]);
  });

  it("is not applicable when a column is missing or recognised twice, or for instance segmentation", () => {
    expect(parsePlainCsv("file_name,xmin,ymin\na,1,2\n", "object_detection")).toBeNull();
    expect(parsePlainCsv("file_name,class,label,xmin,ymin,xmax,ymax\n", "object_detection")).toBeNull();
    expect(parsePlainCsv("file_name,class_name\na,b\n", "instance_segmentation")).toBeNull();
  });

  it("image classification: two columns, several rows per image merge", () => {
    const p = parsePlainCsv(
      "file_name,class_name,xmin,ymin,xmax,ymax\n/abs/a.jpg,Cat;Dog,1,2,3,4\n/abs/a.jpg,cat\n",
      "image_classification",
    )!;
    expect(p.records).toEqual([
      { fileName: "/abs/a.jpg", match: "basename", objects: [], classes: ["Cat", "Dog", "cat"], tags: [] },
    ]);
  });
});

describe("tags CSV (§4.5)", () => {
  it("needs exactly file_name,tag and collects tags per image", () => {
    expect(parseTagsCsv("File_name,tag\na,b\n")).toBeNull();
    expect(parseTagsCsv("file_name,tag,extra\na,b,c\n")).toBeNull();
    expect(
      parseTagsCsv("file_name,tag\na.jpg,train\na.jpg,big\nb.jpg,train\na.jpg,train\n")!.records.map((r) => [
        r.fileName,
        r.tags,
      ]),
    ).toEqual([
      ["a.jpg", ["train", "big"]],
      ["b.jpg", ["train"]],
    ]);
  });
});

describe("Open Images CSV (§4.6)", () => {
  const header =
    "ImageID,Source,LabelName,Confidence,XMin,XMax,YMin,YMax,IsOccluded,IsTruncated,IsGroupOf,IsDepiction,IsInside";
  it("reads relative boxes in XMin, YMin, XMax, YMax order", () => {
    const p = parseOpenImages(
      `${header}\n0001eeaf4aed83f9,xclick,/m/0cmf2,1,0.0226,0.9642,0.0710,0.8005,0,0,0,0,0\n`,
      "object_detection",
    )!;
    expect(p.records).toEqual([
      {
        fileName: "0001eeaf4aed83f9",
        match: "basename",
        objects: [
          {
            classes: ["/m/0cmf2"],
            kind: "bbox",
            coordinates: [0.0226, 0.071, 0.9642, 0.8005],
            relative: true,
            source: "line 2",
          },
        ],
        classes: [],
        tags: [],
      },
    ]);
  });
  it("needs all thirteen columns", () => {
    expect(parseOpenImages("ImageID,XMin,XMax,YMin,YMax\na,0,1,0,1\n", "object_detection")).toBeNull();
  });
});

describe("Pascal VOC (§4.3)", () => {
  const voc = (
    name: string,
  ) => `<annotation><folder>x</folder><filename>dir/a.jpg</filename><size><width>100</width><height>50</height></size>
    <object><name>${name}</name><bndbox><xmin>1.5</xmin><ymin>2</ymin><xmax>30</xmax><ymax>40</ymax></bndbox></object>
    <object><name>Tree</name><bndbox><xmin>5</xmin><ymin>6</ymin><xmax>7</xmax><ymax>8</ymax></bndbox></object></annotation>`;
  it("detection: one record, a box per object; predefined entities decoded", () => {
    const p = parseVoc(voc("Fish &amp; chips"), "object_detection")!;
    expect(p.records[0].fileName).toBe("dir/a.jpg");
    expect(p.records[0].objects).toEqual([
      { classes: ["Fish & chips"], kind: "bbox", coordinates: [1.5, 2, 30, 40], source: "object 1 (Fish & chips)" },
      { classes: ["Tree"], kind: "bbox", coordinates: [5, 6, 7, 8], source: "object 2 (Tree)" },
    ]);
  });
  it("classification: object names become classes", () => {
    expect(parseVoc(voc("Cat"), "image_classification")!.records[0].classes).toEqual(["Cat", "Tree"]);
  });
  it("refuses DOCTYPE/ENTITY declarations (no expansion) and is not applicable without size or objects", () => {
    expect(() => parseVoc(`<!DOCTYPE a SYSTEM "file:///etc/passwd"><annotation/>`, "object_detection")).toThrow(
      XmlRefused,
    );
    expect(parseVoc("<annotation><filename>a</filename><object/></annotation>", "object_detection")).toBeNull();
  });
  it("reads a file without <size> (the writer knows the image's size) and one with <size> and no object", () => {
    const noSize = parseVoc(
      "<annotation><filename>a.jpg</filename><object><name>car</name><bndbox><xmin>1</xmin><ymin>2</ymin><xmax>3</xmax><ymax>4</ymax></bndbox></object></annotation>",
      "object_detection",
    )!;
    expect(noSize.records[0].objects).toEqual([
      { classes: ["car"], kind: "bbox", coordinates: [1, 2, 3, 4], source: "object 1 (car)" },
    ]);
    const none = parseVoc(
      "<annotation><filename>a.jpg</filename><size><width>9</width></size></annotation>",
      "object_detection",
    )!;
    expect(none.records).toEqual([{ fileName: "a.jpg", match: "basename", objects: [], classes: [], tags: [] }]);
    expect(none.warnings).toEqual([]);
  });
});

describe("COCO (§4.4)", () => {
  const base = {
    images: [{ id: 7, file_name: "a.jpg" }],
    categories: [{ id: 1, name: "car" }],
    annotations: [] as any[],
  };
  it("detection: bbox x,y,w,h → corners; unknown category → none; exact file_name match", async () => {
    const p = (await parseCoco(
      JSON.stringify({
        ...base,
        annotations: [
          { id: 1, image_id: 7, category_id: 1, bbox: [1, 2, 10, 20] },
          { id: 2, image_id: 7, category_id: 9, bbox: [0, 0, 1, 1] },
        ],
      }),
      "object_detection",
    ))!;
    expect(p.records).toEqual([
      {
        fileName: "a.jpg",
        match: "exact",
        objects: [
          { classes: ["car"], kind: "bbox", coordinates: [1, 2, 11, 22], source: "annotation id 1" },
          { classes: ["none"], kind: "bbox", coordinates: [0, 0, 1, 1], source: "annotation id 2" },
        ],
        classes: [],
        tags: [],
      },
    ]);
  });
  it("segmentation: each polygon its own object, crowd skipped with a warning, RLE traced into polygons", async () => {
    const rle = { counts: [6, 2, 2, 2, 4], size: [4, 4] }; // column-major 4x4: a 2x2 square at x=1..2, y=2..3
    const p = (await parseCoco(
      JSON.stringify({
        ...base,
        annotations: [
          {
            id: 1,
            image_id: 7,
            category_id: 1,
            segmentation: [
              [0, 0, 4, 0, 4, 4],
              [5, 5, 6, 5, 6, 6],
            ],
            iscrowd: 0,
          },
          { id: 2, image_id: 7, category_id: 1, segmentation: rle, iscrowd: 1 },
          { id: 3, image_id: 7, category_id: 1, segmentation: rle, iscrowd: 0 },
        ],
      }),
      "instance_segmentation",
    ))!;
    expect(p.records[0].objects.map((o) => o.coordinates)).toEqual([
      [0, 0, 4, 0, 4, 4],
      [5, 5, 6, 5, 6, 6],
      [1, 2, 3, 2, 3, 4, 1, 4],
    ]);
    expect(p.warnings.map((w) => w.message)).toEqual(["1 crowd annotation(s) skipped"]);
  });
  it("reads a stream too, rejects empty categories, and is not applicable to non-COCO JSON", async () => {
    const stream = new Blob([
      JSON.stringify({ ...base, annotations: [{ id: 1, image_id: 7, category_id: 1, bbox: [0, 0, 2, 2] }] }),
    ]).stream();
    expect((await parseCoco(stream, "object_detection"))!.records).toHaveLength(1);
    await expect(parseCoco(JSON.stringify({ ...base, categories: [] }), "object_detection")).rejects.toThrow(
      CocoRefused,
    );
    expect(await parseCoco(JSON.stringify({ hello: 1 }), "object_detection")).toBeNull();
    expect(await parseCoco("{not json", "object_detection")).toBeNull();
  });
});

describe("COCO RLE", () => {
  it("decodes pycocotools' compressed counts (round trip through its encoder, rleToString)", () => {
    const encode = (cnts: number[]) => {
      let out = "";
      cnts.forEach((c, i) => {
        let x = i > 2 ? c - cnts[i - 2] : c;
        for (let more = true; more;) {
          let ch = x & 0x1f;
          x >>= 5;
          more = ch & 0x10 ? x !== -1 : x !== 0;
          if (more) ch |= 0x20;
          out += String.fromCharCode(ch + 48);
        }
      });
      return out;
    };
    const counts = [5, 2, 2, 0, 3, 1000, 1, 70000, 4];
    expect(decodeRleCounts(encode(counts))).toEqual(counts);
    expect(decodeRleCounts([1, 2, 3])).toEqual([1, 2, 3]);
  });
  it("traces an L-shaped region into its six corners and keeps separate regions apart", () => {
    // 3x3, row-major picture: X.. / X.. / XX. plus a lone pixel at (2,0).
    const h = 3;
    const w = 3;
    const mask = new Uint8Array(h * w);
    const set = (x: number, y: number) => (mask[x * h + y] = 1);
    (set(0, 0), set(0, 1), set(0, 2), set(1, 2), set(2, 0));
    const polys = maskToPolygons(mask, h, w);
    expect(polys).toEqual([
      [0, 0, 1, 0, 1, 2, 2, 2, 2, 3, 0, 3],
      [2, 0, 3, 0, 3, 1, 2, 1],
    ]);
    expect(rleToMask([2, 100], 3, 3)).not.toBeNull();
    // A mask too big for a Worker is refused before anything is allocated; negative runs are malformed.
    expect(rleToPolygons({ counts: [0, 5], size: [100_000, 100_000] })).toBeNull();
    expect(rleToMask([3, -2], 3, 3)).toBeNull();
    expect(rleToPolygons({ counts: [0, 4], size: [2, 2] })).toEqual([[0, 0, 2, 0, 2, 2, 0, 2]]);
  });
});

describe("YOLO", () => {
  it("reads classes.txt and the three data.yaml shapes", () => {
    expect(parseYoloClasses("classes.txt", "car\nperson\n\n")).toEqual(["car", "person"]);
    expect(parseYoloClasses("data.yaml", "train: x\nnames: ['car', \"person\"]\n")).toEqual(["car", "person"]);
    expect(parseYoloClasses("data.yaml", "names:\n  - car\n  - person\nnc: 2\n")).toEqual(["car", "person"]);
    expect(parseYoloClasses("data.yml", "names:\n  0: car\n  1: person\n")).toEqual(["car", "person"]);
  });
  it("keeps a data.yaml names map dense: indices past the block's entries or the 10,000 cap are ignored", () => {
    expect(parseYoloClasses("data.yaml", "names:\n  2: bike\n  0: car\n  9: far\n")).toEqual(["car", "1", "bike"]);
    // A sparse array as long as this index took minutes, past the test timeout.
    expect(parseYoloClasses("data.yaml", "names:\n  0: car\n  4294967294: huge\n  1: person\n")).toEqual([
      "car",
      "person",
    ]);
    const many = Array.from({ length: 10_005 }, (_, i) => `  ${i}: c${i}`).join("\n");
    const capped = parseYoloClasses("data.yaml", `names:\n${many}\n`);
    expect(capped.length).toBe(10_001);
    expect(capped[10_000]).toBe("c10000");
  });
  it("turns normalised cx cy w h into relative boxes on the label's base name, polygons for segmentation", () => {
    const p = parseYoloLabels(
      "labels/train/img1.txt",
      "1 0.5 0.5 0.2 0.4\n0 0.1 0.1 0.2 0.1 0.2 0.2\n",
      ["car", "person"],
      "object_detection",
    )!;
    expect(p.records[0].fileName).toBe("img1");
    expect(p.records[0].match).toBe("basename");
    expect(p.records[0].objects[0].classes).toEqual(["person"]);
    expect(p.records[0].objects[0].relative).toBe(true);
    p.records[0].objects[0].coordinates.forEach((v, i) => expect(v).toBeCloseTo([0.4, 0.3, 0.6, 0.7][i]));
    expect(p.records[0].objects[1]).toMatchObject({
      classes: ["car"],
      kind: "bbox",
      coordinates: [0.1, 0.1, 0.2, 0.2],
    });
    const seg = parseYoloLabels("a.txt", "0 0.1 0.1 0.2 0.1 0.2 0.2\n", ["car"], "instance_segmentation")!;
    expect(seg.records[0].objects[0]).toMatchObject({ kind: "polygon", coordinates: [0.1, 0.1, 0.2, 0.1, 0.2, 0.2] });
    expect(parseYoloLabels("a.txt", "car 1 2 3 4\n", [], "object_detection")).toBeNull();
  });
  it("an empty label file is a background image; an index past the class list is a warning, its line skipped", () => {
    for (const text of ["", " \r\n\t\n"])
      expect(parseYoloLabels("labels/bg.txt", text, ["car"], "object_detection")).toEqual({
        format: "yolo",
        records: [{ fileName: "bg", match: "basename", objects: [], classes: [], tags: [], annotatedEmpty: true }],
        warnings: [],
      });
    const p = parseYoloLabels("l/a.txt", "0 0.5 0.5 0.2 0.2\n2 0.5 0.5 0.2 0.2\n", ["car", "bus"], "object_detection")!;
    expect(p.records[0].objects.map((o) => o.classes)).toEqual([["car"]]);
    expect(p.warnings).toEqual([
      {
        fileName: "l/a.txt",
        message: "line 2: class index 2 is not in classes.txt (2 classes, ids 0–1); line skipped",
      },
    ]);
    // Without a class list an index names its class, as before.
    expect(
      parseYoloLabels("a.txt", "3 0.5 0.5 0.2 0.2\n", [], "object_detection")!.records[0].objects[0].classes,
    ).toEqual(["3"]);
  });
});
