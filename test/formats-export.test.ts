import { strFromU8, unzipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { CocoCategories } from "../src/formats/coco-categories";
import { exportCoco } from "../src/formats/export-coco";
import { exportCsv } from "../src/formats/export-csv";
import { exportRemoJson } from "../src/formats/export-json";
import { encodeChunks, pyFloat, pyJson, pyString } from "../src/formats/export-text";
import type { ExportImage, ExportOptions } from "../src/formats/export-types";
import { crc32, zipStream, type ZipEntry } from "../src/formats/zip-writer";

async function* pagesOf(...pages: ExportImage[][]) {
  for (const p of pages) yield p;
}

async function text(parts: AsyncIterable<string>): Promise<string> {
  let s = "";
  for await (const p of parts) s += p;
  return s;
}

async function bytes(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const list: Uint8Array[] = [];
  let n = 0;
  for await (const c of chunks) (list.push(c), (n += c.length));
  const out = new Uint8Array(n);
  let o = 0;
  for (const c of list) (out.set(c, o), (o += c.length));
  return out;
}

const img = (id: number, extra: Partial<ExportImage> = {}): ExportImage => ({
  id,
  fileName: `i${id}.jpg`,
  linkedPath: null,
  width: 200,
  height: 100,
  tags: [],
  classes: [],
  objects: [{ id: id * 10, kind: "bbox", coordinates: [20, 10, 60, 30], classes: ["Car"] }],
  ...extra,
});
const OD: ExportOptions = { task: "object_detection", coordinates: "pixel", fullPath: false };

describe("Python-compatible rendering", () => {
  it("prints floats as Python's repr does", () => {
    expect(pyFloat(0)).toBe("0.0");
    expect(pyFloat(1)).toBe("1.0");
    expect(pyFloat(0.5)).toBe("0.5");
    expect(pyFloat(0.0001)).toBe("0.0001");
    expect(pyFloat(0.00005)).toBe("5e-05");
    expect(pyFloat(1.5e-7)).toBe("1.5e-07");
    expect(pyFloat(1e16)).toBe("1e+16");
    expect(pyFloat(123456789.5)).toBe("123456789.5");
    expect(pyFloat(0.1 + 0.2)).toBe("0.30000000000000004");
  });

  it("renders json.dumps(indent=2, sort_keys=True, ensure_ascii=True)", () => {
    expect(pyJson({ b: [], a: {}, c: [1, "x", null, true] })).toBe(
      '{\n  "a": {},\n  "b": [],\n  "c": [\n    1,\n    "x",\n    null,\n    true\n  ]\n}',
    );
    expect(pyString('é\u0001"\\\n😀\u007f')).toBe('"\\u00e9\\u0001\\"\\\\\\n\\ud83d\\ude00\\u007f"');
    expect(pyJson(0.25)).toBe("0.25");
  });

  it("batches strings into chunks of about 64 KiB", async () => {
    async function* many() {
      for (let i = 0; i < 10_000; i++) yield "0123456789";
    }
    const chunks: Uint8Array[] = [];
    for await (const c of encodeChunks(many())) chunks.push(c);
    expect(chunks.length).toBe(2);
    expect(chunks.reduce((n, c) => n + c.length, 0)).toBe(100_000);
  });
});

describe("exporters over pages", () => {
  it("stream across page boundaries without losing or repeating images", async () => {
    const json = JSON.parse(await text(exportRemoJson(pagesOf([img(1), img(2)], [], [img(3)]), OD)));
    expect(json.map((e: { file_name: string }) => e.file_name)).toEqual(["i1.jpg", "i2.jpg", "i3.jpg"]);
    expect(await text(exportRemoJson(pagesOf(), OD))).toBe("[]");
    expect(await text(exportCsv(pagesOf([img(1)], [img(2)]), { ...OD, coordinates: "percent" }))).toBe(
      "file_name,classes,xmin,ymin,xmax,ymax\ni1.jpg,Car,0.1,0.1,0.3,0.3\ni2.jpg,Car,0.1,0.1,0.3,0.3\n",
    );
  });

  it("COCO reads annotations then image rows, and names categories from the class list plus classes met in the data", async () => {
    const passes: string[] = [];
    const open = (pass: "annotations" | "images") => {
      passes.push(pass);
      return pagesOf([
        img(1, { objects: [{ id: 5, kind: "bbox", coordinates: [0, 0, 10, 10], classes: ["Mystery"] }] }),
      ]);
    };
    const coco = JSON.parse(await text(exportCoco(open, ["Car"], OD)));
    expect(passes).toEqual(["annotations", "images"]);
    expect(coco.categories).toEqual([
      { id: 3, name: "car", supercategory: "vehicle" },
      { id: 91, name: "mystery", supercategory: "mystery" },
    ]);
    expect(coco.annotations[0]).toMatchObject({ id: 5, image_id: 1, category_id: 91, bbox: [0, 0, 10, 10], area: 100 });
  });

  it("COCO in percent writes fractions, floats included", async () => {
    const out = await text(exportCoco(() => pagesOf([img(1)]), [], { ...OD, coordinates: "percent" }));
    expect(JSON.parse(out).annotations[0].bbox).toEqual([0.1, 0.1, 0.2, 0.2]);
    expect(out).toContain('"segmentation": [\n        [\n          0.1,');
  });

  it("assigns COCO category ids: standard names keep theirs, others count up from 91, case-insensitively", () => {
    const cats = new CocoCategories(["Zebra", "Widget", "ZEBRA", "Gadget"]);
    expect(cats.idOf("zebra")).toBe(24);
    expect(cats.idOf("Widget")).toBe(91);
    expect(cats.idOf("gadget")).toBe(92);
    expect(cats.idOf("person")).toBe(1);
    expect(cats.list().map((c) => c.id)).toEqual([1, 24, 91, 92]);
  });
});

describe("streaming zip writer", () => {
  it("computes zip's CRC-32", () => {
    expect(crc32(new TextEncoder().encode("123456789"))).toBe(0xcbf43926);
    const a = new TextEncoder().encode("1234");
    const b = new TextEncoder().encode("56789");
    expect(crc32(b, crc32(a))).toBe(0xcbf43926);
  });

  it("writes deflated and stored entries, UTF-8 names, that a standard reader opens", async () => {
    async function* big() {
      for (let i = 0; i < 2000; i++) yield new TextEncoder().encode(`row ${i},some repeated text\n`);
    }
    const zip = await bytes(
      zipStream([
        { name: "big.csv", data: big() },
        { name: "small.txt", data: "hi" },
        { name: "naïve/ünï.txt", data: new Uint8Array([1, 2, 3]) },
      ]),
    );
    const files = unzipSync(zip);
    expect(Object.keys(files)).toEqual(["big.csv", "small.txt", "naïve/ünï.txt"]);
    expect(strFromU8(files["big.csv"]).split("\n")).toHaveLength(2001);
    expect(strFromU8(files["small.txt"])).toBe("hi");
    expect([...files["naïve/ünï.txt"]]).toEqual([1, 2, 3]);
    expect(zip.length).toBeLessThan(2000 * 20); // deflated, not stored
  });

  it("switches to Zip64 records past 65,535 entries", async () => {
    function* entries(): Generator<ZipEntry> {
      for (let i = 0; i < 70_000; i++) yield { name: `labels/${i}.txt`, data: `${i}\n` };
    }
    const zip = await bytes(zipStream(entries()));
    const view = new DataView(zip.buffer);
    const eocd = zip.length - 22;
    expect(view.getUint32(eocd, true)).toBe(0x06054b50);
    expect(view.getUint16(eocd + 10, true)).toBe(0xffff);
    expect(view.getUint32(eocd - 20, true)).toBe(0x07064b50); // Zip64 locator
    const record = Number(view.getBigUint64(eocd - 12, true));
    expect(view.getUint32(record, true)).toBe(0x06064b50);
    expect(Number(view.getBigUint64(record + 32, true))).toBe(70_000);
    const files = unzipSync(zip);
    expect(Object.keys(files)).toHaveLength(70_000);
    expect(strFromU8(files["labels/69999.txt"])).toBe("69999\n");
  });

  it("fails the stream when an entry's data fails", async () => {
    async function* broken() {
      yield new TextEncoder().encode("start");
      throw new Error("D1 went away");
    }
    await expect(bytes(zipStream([{ name: "a.csv", data: broken() }]))).rejects.toThrow("D1 went away");
  });
});
