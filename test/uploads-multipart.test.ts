import { describe, expect, it } from "vitest";
import { boundaryOf, parseMultipart, type PartSink } from "../src/services/ingest/upload-multipart";

async function parse(body: Uint8Array, boundary: string, chunk: number, max = 1 << 30) {
  const fields: Record<string, string> = {};
  const files: { field: string; name: string; bytes: number[] }[] = [];
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      for (let i = 0; i < body.length; i += chunk) c.enqueue(body.slice(i, i + chunk));
      c.close();
    },
  });
  await parseMultipart(
    stream,
    boundary,
    {
      field: (n, v) => (fields[n] = v),
      file: async (field, name): Promise<PartSink> => {
        const f = { field, name, bytes: [] as number[] };
        files.push(f);
        return { write: async (c) => void f.bytes.push(...c), close: async () => {}, abort: async () => {} };
      },
    },
    max,
  );
  return { fields, files };
}

describe("streaming multipart reader", () => {
  it("gives the same parts whatever the chunking, including a boundary split across chunks", async () => {
    const form = new FormData();
    form.append("session_id", "abc");
    form.append("annotation_task", "Object detection");
    const bin = new Uint8Array(3000).map((_, i) => (i * 7) % 256);
    bin.set(new TextEncoder().encode("\r\n--"), 1500); // looks like the start of a delimiter
    form.append("files", new Blob([bin]), "a b.jpg");
    form.append("files", new Blob(["x,y\n"]), "labels.csv");
    const req = new Request("http://x/", { method: "POST", body: form });
    const boundary = boundaryOf(req.headers.get("content-type")!)!;
    const body = new Uint8Array(await req.arrayBuffer());
    for (const chunk of [1, 7, 64, 1000, body.length]) {
      const r = await parse(body, boundary, chunk);
      expect(r.fields).toEqual({ session_id: "abc", annotation_task: "Object detection" });
      expect(r.files.map((f) => [f.field, f.name, f.bytes.length])).toEqual([
        ["files", "a b.jpg", 3000],
        ["files", "labels.csv", 4],
      ]);
      expect(new Uint8Array(r.files[0].bytes)).toEqual(bin);
    }
  });

  it("refuses a body past the cap and a body without its closing boundary", async () => {
    const form = new FormData();
    form.append("files", new Blob([new Uint8Array(5000)]), "a.bin");
    const req = new Request("http://x/", { method: "POST", body: form });
    const boundary = boundaryOf(req.headers.get("content-type")!)!;
    const body = new Uint8Array(await req.arrayBuffer());
    await expect(parse(body, boundary, 512, 4000)).rejects.toThrow(/over 4000 bytes/);
    await expect(parse(body.slice(0, body.length - 10), boundary, 512)).rejects.toThrow(/closing boundary/);
  });
});
