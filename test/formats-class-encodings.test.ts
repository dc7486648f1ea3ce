import { describe, expect, it } from "vitest";
import { classIdKind, decodeClassId } from "../src/formats/class-encodings";
import { KG_IDS, KG_NAMES, WORDNET_IDS, WORDNET_NAMES } from "../src/formats/class-encoding-tables";
import { parsePolygonCsv } from "../src/formats/import-csv-polygons";

describe("class-encoding tables (data/class-encodings/)", () => {
  it("decode the ids Remo's notebooks and the tables' README name", () => {
    expect(decodeClassId("/m/02xwb")).toBe("Fruit");
    expect(decodeClassId("/m/05y5lj")).toBe("Sports equipment");
    expect(decodeClassId("/m/01c_0l")).toBe("Ducks, geese and swans");
    expect(decodeClassId("n02084071")).toBe("dog");
    expect(decodeClassId("N01751748")).toBe("sea snake");
    expect(decodeClassId(" /m/0cmf2 ")).toBe("Airplane");
  });

  it("find every row, the first and last included, in tables sorted by code unit", () => {
    const kg = KG_IDS.split("\n");
    const kgNames = KG_NAMES.split("\n");
    const wnNames = WORDNET_NAMES.split("\n");
    expect(kg.length).toBe(19994);
    expect(wnNames.length).toBe(WORDNET_IDS.length / 8);
    expect(kg.every((k, i) => i === 0 || kg[i - 1] < k)).toBe(true);
    kg.forEach((id, i) => expect(decodeClassId(id), id).toBe(kgNames[i]));
    for (let i = 0; i < wnNames.length; i++) {
      const id = `n${WORDNET_IDS.slice(i * 8, i * 8 + 8)}`;
      expect(decodeClassId(id), id).toBe(wnNames[i]);
    }
  });

  it("answer null for ordinary names and for ids missing from the tables", () => {
    for (const label of ["Car", "n0208407", "n020840711", "/m/", "/M/02XWB", "m/02xwb", "/m/0zzzzzzz", "n99999999", ""])
      expect(decodeClassId(label), label).toBeNull();
    expect(classIdKind("/m/0zzzzzzz")).toBe("GoogleKnowledgeGraph");
    expect(classIdKind("n99999999")).toBe("WordNet");
    expect(classIdKind("Car")).toBeNull();
  });
});

describe("instance-segmentation CSV (SDK SimpleCSVForInstanceSegmentation, our §5.2 export)", () => {
  it("reads the SDK's and Remo's export headers, '; '-joined points, ';'-joined classes", () => {
    const sdk = parsePolygonCsv(
      "file_name,class_name,coordinates\r\na.jpg,cat;dog,1; 2; 3; 4; 5.5; 6\r\n",
      "instance_segmentation",
    );
    expect(sdk?.records).toEqual([
      {
        fileName: "a.jpg",
        match: "basename",
        objects: [{ classes: ["cat", "dog"], kind: "polygon", coordinates: [1, 2, 3, 4, 5.5, 6], source: "line 2" }],
        classes: [],
        tags: [],
      },
    ]);
    const exported = parsePolygonCsv(
      "file_name,classes,coordinates\nb.jpg,,\nb.jpg,Cat,0.1; 0.2; 0.3; 0.2; 0.3; 0.4\n",
      "instance_segmentation",
    );
    expect(exported?.warnings).toEqual([]);
    expect(exported?.records[0].objects).toEqual([
      {
        classes: ["Cat"],
        kind: "polygon",
        coordinates: [0.1, 0.2, 0.3, 0.2, 0.3, 0.4],
        source: "line 3",
        relative: true,
      },
    ]);
  });

  it("is not applicable to other tasks or without the three columns", () => {
    const csv = "file_name,class_name,coordinates\na.jpg,cat,1; 2; 3; 4; 5; 6\n";
    expect(parsePolygonCsv(csv, "object_detection")).toBeNull();
    expect(parsePolygonCsv("file_name,class_name,xmin,ymin,xmax,ymax\n", "instance_segmentation")).toBeNull();
    expect(parsePolygonCsv("file_name,class_name,coordinates,points\n", "instance_segmentation")).toBeNull();
  });
});
