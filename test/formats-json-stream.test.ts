import { describe, expect, it } from "vitest";
import { JsonArrayScanner, JsonLimitError, JsonStreamError, scanJson } from "../src/formats/json-stream";

const enc = new TextEncoder();

/** The bytes of `text` (or the bytes given) cut into chunks of `size`. */
function chunks(input: string | Uint8Array, size: number): Uint8Array[] {
  const bytes = typeof input === "string" ? enc.encode(input) : input;
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.slice(i, i + size));
  return out;
}

function streamOf(parts: Uint8Array[]): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream({
    pull(c) {
      if (i < parts.length) c.enqueue(parts[i++]);
      else c.close();
    },
  });
}

/** Elements delivered for `arrays`, grouped by key, from `text` read in chunks of `size`. */
async function scan(
  input: string | Uint8Array,
  arrays: string[],
  size: number,
  limits: { maxElementBytes?: number; maxDepth?: number } = {},
) {
  const got: Record<string, unknown[]> = {};
  const keys = await scanJson(streamOf(chunks(input, size)), {
    arrays,
    ...limits,
    onElement(key, v) {
      (got[key] ??= []).push(v);
    },
  });
  return { got, keys: Object.fromEntries(keys) };
}

const DOC = JSON.stringify({
  info: { description: 'skipped: [ { "quoted" } ] \\ \u00e9', nested: [[1, { a: [] }], "]}"] },
  "ima\u0067es": [
    { id: 1, file_name: 'say "hi"\\.jpg', tags: ["é", "日本", "🐈"] },
    { id: 2, file_name: "plain.jpg", deep: { a: [{ b: [[[{ c: null }]]] }] } },
    "a string element",
    -12.5e-3,
    true,
    null,
    [],
    {},
  ],
  licenses: [{ id: 1, name: "CC [BY]" }],
  empty: [],
  annotations: [{ id: 1, image_id: 1, bbox: [1, 2, 3, 4], segmentation: [[1, 2, 3, 4, 5, 6]] }],
  n: 42,
  s: "x",
});

describe("JSON stream scanner", () => {
  it("delivers the elements of the asked arrays, whatever the chunk size, skipping every other key", async () => {
    const want = JSON.parse(DOC);
    for (const size of [1, 2, 3, 7, 64, DOC.length * 4]) {
      const { got, keys } = await scan(DOC, ["images", "annotations", "empty", "n"], size);
      expect(got, `chunks of ${size}`).toEqual({ images: want.images, annotations: want.annotations });
      expect(keys).toEqual({
        info: "object",
        images: "array",
        licenses: "array",
        empty: "array",
        annotations: "array",
        n: "scalar",
        s: "string",
      });
    }
  });

  it('decodes escapes in elements and keys: \\" \\\\ \\u00e9, and a key written with escapes', async () => {
    const text = '{"k\\u0065y\\"s": [{"name": "a\\"b\\\\c\\u00e9\\n"}, "\\\\"]}';
    for (const size of [1, 2, 7]) {
      const { got } = await scan(text, ['key"s'], size);
      expect(got).toEqual({ 'key"s': [{ name: 'a"b\\c\u00e9\n' }, "\\"] });
    }
  });

  it("keeps multi-byte UTF-8 whole when a character is split between chunks", async () => {
    const text = JSON.stringify({ a: ["é", "日本語", "🐈‍⬛ cat", { clé: "ü" }] });
    const bytes = enc.encode(text);
    // Every split point of every character: two chunks, cut at each byte.
    for (let cut = 1; cut < bytes.length; cut++) {
      const s = new JsonArrayScanner({ arrays: ["a"] });
      const out = [...s.push(bytes.slice(0, cut)), ...s.push(bytes.slice(cut))];
      s.end();
      expect(
        out.map(([, v]) => v),
        `cut at ${cut}`,
      ).toEqual(JSON.parse(text).a);
    }
  });

  it("skips a UTF-8 byte order mark, as Response.text() does", async () => {
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...enc.encode('{"a": [1]}')]);
    for (const size of [1, 2, 100]) expect((await scan(bytes, ["a"], size)).got).toEqual({ a: [1] });
  });

  it("waits for an asynchronous handler before reading on, and keeps the order", async () => {
    const seen: number[] = [];
    await scanJson(streamOf(chunks(JSON.stringify({ a: [1, 2, 3, 4, 5] }), 3)), {
      arrays: ["a"],
      async onElement(_k, v) {
        await new Promise((r) => setTimeout(r, 5 - (v as number)));
        seen.push(v as number);
      },
    });
    expect(seen).toEqual([1, 2, 3, 4, 5]);
  });

  const malformed: [string, RegExp][] = [
    ["", /empty input/],
    ["   ", /ends inside a value/],
    ["[1, 2]", /top level is not an object/],
    ['"text"', /top level is not an object/],
    ["42", /top level is not an object/],
    ['{"a": "unterminated', /ends inside a value/],
    ['{"a": [1, 2}', /mismatched '}'/],
    ['{"a": {"b": 1]}', /mismatched '\]'/],
    ['{"a": 1} x', /after the end of the top-level object/],
    ['{"a": 1}}', /after the end of the top-level object/],
    ['{"a": 1}{}', /after the end of the top-level object/],
    ['{"a": [1, 2]', /ends inside a value/],
    ['{"a" 1}', /expected ':'/],
    ['{"a": 1,}', /expected a key/],
    ['{"a": [1,]}', /unexpected '\]'/],
    ['{"a": 1 "b": 2}', /expected ','/],
    ["{a: 1}", /expected a key/],
    ['{"a": [tru]}', /element 0 of 'a'/],
    ['{"a": [{"x": 01}]}', /element 0 of 'a'/],
    ['{"a": ["bad \\x escape"]}', /element 0 of 'a'/],
    ['{"a": "tab\tin string"}', /control character/],
    ['{"a": @}', /unexpected '@'/],
  ];

  it("refuses malformed input with a JsonStreamError saying what is wrong, at any chunk size", async () => {
    for (const [text, message] of malformed)
      for (const size of [1, 2, 7, 1000]) {
        const e = await scan(text, ["a"], size).catch((err) => err);
        expect(e, `${JSON.stringify(text)} in chunks of ${size}`).toBeInstanceOf(JsonStreamError);
        expect(e.message, JSON.stringify(text)).toMatch(message);
      }
  });

  it("refuses every truncation of a document, and never fails with anything but JsonStreamError when bytes are altered", async () => {
    const bytes = enc.encode(DOC);
    for (let n = 0; n < bytes.length; n++) {
      const e = await scan(bytes.slice(0, n), ["images", "annotations"], 5).catch((err) => err);
      expect(e, `truncated to ${n} bytes`).toBeInstanceOf(JsonStreamError);
    }
    for (let i = 0; i < bytes.length; i += 3)
      for (const c of '{}[]",:\\x1 ') {
        const altered = bytes.slice();
        altered[i] = c.charCodeAt(0);
        const r = await scan(altered, ["images", "annotations"], 4).catch((err) => err);
        if (r instanceof Error) expect(r, `byte ${i} → ${c}: ${r.message}`).toBeInstanceOf(JsonStreamError);
      }
  });

  it("refuses an element over the size bound, whole in one chunk or spread over many (JsonLimitError)", async () => {
    const text = JSON.stringify({ skipped: "y".repeat(500), a: [{ small: 1 }, { big: "x".repeat(300) }] });
    for (const size of [1, 7, 64, 10_000]) {
      const e = await scan(text, ["a"], size, { maxElementBytes: 200 }).catch((err) => err);
      expect(e, `chunks of ${size}`).toBeInstanceOf(JsonLimitError);
      expect(e.message).toMatch(/element 1 of 'a' is larger than 200 bytes/);
    }
    // A value of a key not asked for is never held, so it has no bound.
    expect((await scan(text, [], 7, { maxElementBytes: 200 })).keys).toEqual({ skipped: "string", a: "array" });
  });

  it("refuses an element over the default 8 MiB", async () => {
    const text = `{"a": ["${"x".repeat(8 * 1024 * 1024)}"]}`;
    const e = await scan(text, ["a"], 65536).catch((err) => err);
    expect(e).toBeInstanceOf(JsonLimitError);
  });

  it("refuses nesting past the depth bound, in an asked array or in a skipped value", async () => {
    const nest = (levels: number) => "[".repeat(levels) + "]".repeat(levels);
    // The top-level object is level 1 and the asked array level 2: 62 more levels make 64.
    expect((await scan(`{"a": [${nest(62)}]}`, ["a"], 7)).got.a).toHaveLength(1);
    for (const text of [`{"a": [${nest(63)}]}`, `{"b": ${nest(64)}}`]) {
      const e = await scan(text, ["a"], 7).catch((err) => err);
      expect(e).toBeInstanceOf(JsonLimitError);
      expect(e.message).toMatch(/nested deeper than 64 levels/);
    }
    const shallow = await scan(`{"a": [${nest(5)}]}`, ["a"], 7, { maxDepth: 6 }).catch((err) => err);
    expect(shallow).toBeInstanceOf(JsonLimitError);
  });
});
