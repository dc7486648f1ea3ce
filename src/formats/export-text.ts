/**
 * Text helpers shared by the exporters: Python-compatible number and JSON rendering (Remo writes its files with
 * Python's `json.dump(indent=2, sort_keys=True)` and `str(float)`), CSV quoting, and batching of small strings
 * into byte chunks so a stream is not a million tiny enqueues.
 */

/** A token already rendered, written verbatim by `pyJson` (e.g. a float that must print as `0.0`). */
export class Raw {
  constructor(readonly text: string) {}
}

/** Python's `repr(float)`: shortest round-trip digits, `1.0` for integral values, exponent below 1e-4 or from 1e16. */
export function pyFloat(v: number): string {
  if (!Number.isFinite(v)) return v !== v ? "NaN" : v > 0 ? "Infinity" : "-Infinity";
  if (v === 0) return Object.is(v, -0) ? "-0.0" : "0.0";
  const [mant, expStr] = v.toExponential().split("e");
  const exp = Number(expStr);
  if (exp < -4 || exp >= 16) {
    return `${mant}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  }
  const s = String(v);
  return s.includes(".") || s.includes("e") ? s : `${s}.0`;
}

/** A coordinate as Remo writes it: `int(x)` in pixels, a float fraction in percent mode. */
export function coord(v: number, size: number, percent: boolean): number | Raw {
  return percent ? new Raw(pyFloat(size > 0 ? v / size : 0)) : Math.trunc(v);
}

export function coordText(v: number, size: number, percent: boolean): string {
  return percent ? pyFloat(size > 0 ? v / size : 0) : String(Math.trunc(v));
}

// Python's ensure_ascii: everything outside printable ASCII becomes \uXXXX.
const ESCAPE = /[\\"]|[^ -~]/g;
const SHORT: Record<string, string> = {
  '"': '\\"',
  "\\": "\\\\",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
  "\b": "\\b",
  "\f": "\\f",
};

export function pyString(s: string): string {
  return `"${s.replace(ESCAPE, (ch) => SHORT[ch] ?? `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`)}"`;
}

const pads: string[] = [];
const pad = (n: number) => (pads[n] ??= "\n" + " ".repeat(n));

/**
 * `json.dumps(value, indent=2, separators=(',', ': '), sort_keys=True)`, starting at indentation `level` (so an
 * element can be rendered on its own inside an array that is being streamed).
 */
export function pyJson(value: unknown, level = 0): string {
  if (value === null || value === undefined) return "null";
  if (value instanceof Raw) return value.text;
  switch (typeof value) {
    case "number":
      return Number.isInteger(value) ? String(value) : pyFloat(value);
    case "boolean":
      return value ? "true" : "false";
    case "string":
      return pyString(value);
  }
  const inner = pad(level + 2);
  if (Array.isArray(value)) {
    if (!value.length) return "[]";
    let s = "[";
    for (let i = 0; i < value.length; i++) s += (i ? "," : "") + inner + pyJson(value[i], level + 2);
    return s + pad(level) + "]";
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  if (!keys.length) return "{}";
  let s = "{";
  for (let i = 0; i < keys.length; i++)
    s += (i ? "," : "") + inner + pyString(keys[i]) + ": " + pyJson(obj[keys[i]], level + 2);
  return s + pad(level) + "}";
}

/** A CSV field, quoted only when it must be (Python csv's QUOTE_MINIMAL). */
export function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const CHUNK = 64 * 1024;

/** Strings in, UTF-8 chunks of about 64 KiB out. */
export async function* encodeChunks(parts: AsyncIterable<string>): AsyncGenerator<Uint8Array> {
  const enc = new TextEncoder();
  let buf = "";
  for await (const p of parts) {
    buf += p;
    if (buf.length >= CHUNK) {
      yield enc.encode(buf);
      buf = "";
    }
  }
  if (buf) yield enc.encode(buf);
}
