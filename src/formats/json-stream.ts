/**
 * An incremental scanner for one big JSON object read from a stream (an R2 body), built so a 1 GiB COCO file
 * never has to be in memory: it follows only the structure (strings with their escapes, {} and [] nesting, commas
 * and colons) and, for the top-level keys asked for whose values are arrays, cuts out each element's bytes and
 * parses that small slice with native JSON.parse (fast, and fully validating for the element). Values of the
 * other keys are stepped over without being materialised; inside them only the structure is checked.
 *
 * Memory is bounded by one stream chunk plus one element (`maxElementBytes`), and nesting by `maxDepth`.
 * A duplicated top-level key delivers the elements of both arrays (JSON.parse would keep the last).
 */

/** The input is not one well-formed JSON object (syntax, truncation, trailing garbage). */
export class JsonStreamError extends Error {}
/** Well-formed, perhaps, but past a bound this scanner keeps to stay inside an isolate's memory. */
export class JsonLimitError extends JsonStreamError {}

export type JsonKind = "object" | "array" | "string" | "scalar";

export interface ScanJsonOptions {
  /** Top-level keys whose array elements are wanted. */
  arrays: Iterable<string>;
  /** One parsed element of the array under `key`; a returned promise is awaited before more input is read. */
  onElement: (key: string, value: unknown) => void | Promise<void>;
  maxElementBytes?: number;
  maxDepth?: number;
}

export const MAX_ELEMENT_BYTES = 8 * 1024 * 1024;
export const MAX_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

/** Bytes that may make up a number or a literal (true, false, null); JSON.parse checks the grammar of elements. */
const SCALAR = new Uint8Array(256);
for (const c of "0123456789+-.eEtruefalsn") SCALAR[c.charCodeAt(0)] = 1;
const BOM = [0xef, 0xbb, 0xbf];
const isSpace = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;

const OBJECT = 1;
const ARRAY = 2;

// What the scanner expects next at the current depth.
const E_VALUE = 0; // after a colon, after a comma in an array, or the top-level value
const E_VALUE_OR_CLOSE = 1; // just after [
const E_KEY_OR_CLOSE = 2; // just after {
const E_KEY = 3; // after a comma in an object
const E_COLON = 4;
const E_COMMA_OR_CLOSE = 5; // after a value
const E_END = 6; // after the top-level object: whitespace only

const decoder = new TextDecoder();

/**
 * The push interface (chunks in, parsed elements out), for callers that own their loop; `scanJson` is the usual
 * entry point. `push` returns the elements completed by that chunk, in order.
 */
export class JsonArrayScanner {
  /** Each top-level key seen, with the kind of its value. */
  readonly keys = new Map<string, JsonKind>();
  private readonly wanted: Set<string>;
  private readonly maxElementBytes: number;
  private readonly maxDepth: number;
  private readonly stack: Uint8Array;
  private depth = 0;
  /** Bytes of a leading byte order mark matched so far; -1 once past it. */
  private bom = 0;
  private expect = E_VALUE;
  private inString = false;
  private escape = false;
  private stringIsKey = false;
  private inScalar = false;
  /** Offset of the whole input, for error messages. */
  private offset = 0;
  private key = "";
  /** The top-level value being read is an array whose elements are wanted. */
  private collecting = false;
  /** Bytes of the key (depth 1) or element (depth 2 of a collected array) being cut out. */
  private capturing = false;
  private captureStart = 0;
  private parts: Uint8Array[] = [];
  private partsBytes = 0;
  private elementIndex = 0;
  private out: [string, unknown][] = [];

  constructor(opts: Pick<ScanJsonOptions, "arrays" | "maxElementBytes" | "maxDepth">) {
    this.wanted = new Set(opts.arrays);
    this.maxElementBytes = opts.maxElementBytes ?? MAX_ELEMENT_BYTES;
    this.maxDepth = opts.maxDepth ?? MAX_DEPTH;
    this.stack = new Uint8Array(this.maxDepth + 1);
  }

  private fail(message: string, at: number): never {
    throw new JsonStreamError(`malformed JSON at byte ${this.offset + at}: ${message}`);
  }

  push(buf: Uint8Array): [string, unknown][] {
    this.out = [];
    const n = buf.length;
    let i = 0;
    // A UTF-8 byte order mark is skipped, as Response.text() (the whole-file path) does.
    while (this.bom >= 0 && i < n) {
      if (buf[i] === BOM[this.bom]) {
        i++;
        this.bom = this.bom + 1 === BOM.length ? -1 : this.bom + 1;
      } else {
        if (this.bom > 0) this.fail("broken byte order mark", i);
        this.bom = -1;
      }
    }
    while (i < n) {
      if (this.inString) {
        // The hot path: long runs of string bytes (file names, RLE counts, padding).
        if (this.escape) {
          this.escape = false;
          i++;
          continue;
        }
        let b = buf[i];
        while (b !== QUOTE && b !== BACKSLASH && b >= 0x20 && ++i < n) b = buf[i];
        if (i === n) break;
        if (b === BACKSLASH) this.escape = true;
        else if (b === QUOTE) {
          this.inString = false;
          if (this.stringIsKey) this.keyDone(buf, i + 1);
          else this.valueDone(buf, i + 1);
        } else this.fail("control character in a string", i);
        i++;
        continue;
      }
      if (this.inScalar) {
        while (i < n && SCALAR[buf[i]]) i++;
        if (i === n) break;
        this.inScalar = false;
        this.valueDone(buf, i);
        // The delimiter is read again below, in the state the finished value leaves.
      }
      const b = buf[i];
      if (isSpace(b)) {
        i++;
        continue;
      }
      switch (this.expect) {
        case E_VALUE:
        case E_VALUE_OR_CLOSE:
          if (b === CLOSE_ARRAY && this.expect === E_VALUE_OR_CLOSE) this.close(buf, i, ARRAY);
          else this.valueStart(buf, i, b);
          break;
        case E_KEY_OR_CLOSE:
        case E_KEY:
          if (b === QUOTE) {
            this.inString = true;
            this.stringIsKey = true;
            if (this.depth === 1) this.captureBegin(i);
          } else if (b === CLOSE_OBJECT && this.expect === E_KEY_OR_CLOSE) this.close(buf, i, OBJECT);
          else this.fail(`expected a key, found '${String.fromCharCode(b)}'`, i);
          break;
        case E_COLON:
          if (b !== COLON) this.fail(`expected ':', found '${String.fromCharCode(b)}'`, i);
          this.expect = E_VALUE;
          break;
        case E_COMMA_OR_CLOSE:
          if (b === COMMA) this.expect = this.stack[this.depth] === OBJECT ? E_KEY : E_VALUE;
          else if (b === CLOSE_OBJECT) this.close(buf, i, OBJECT);
          else if (b === CLOSE_ARRAY) this.close(buf, i, ARRAY);
          else this.fail(`expected ',' or a closing bracket, found '${String.fromCharCode(b)}'`, i);
          break;
        default:
          this.fail("data after the end of the top-level object", i);
      }
      i++;
    }
    if (this.capturing) {
      // The key or element continues in the next chunk: keep its bytes so far (chunks are not ours to hold).
      const rest = buf.slice(this.captureStart);
      this.partsBytes += rest.length;
      this.parts.push(rest);
      this.captureStart = 0;
      if (this.partsBytes > this.maxElementBytes) this.tooBig();
    }
    this.offset += n;
    return this.out;
  }

  /** Call after the last chunk: anything left open means the input was cut short. */
  end(): void {
    if (this.inString || this.depth > 0 || this.expect !== E_END)
      throw new JsonStreamError(
        this.offset === 0 ? "malformed JSON: empty input" : `malformed JSON: input ends inside a value (truncated?)`,
      );
  }

  private tooBig(): never {
    throw new JsonLimitError(
      this.depth === 1
        ? `a top-level key is longer than ${this.maxElementBytes} bytes`
        : `element ${this.elementIndex} of '${this.key}' is larger than ${this.maxElementBytes} bytes`,
    );
  }

  private captureBegin(i: number) {
    this.capturing = true;
    this.captureStart = i;
    this.parts = [];
    this.partsBytes = 0;
  }

  /** The captured bytes [captureStart, end) of this chunk plus those kept from earlier chunks, as text. */
  private captureText(buf: Uint8Array, end: number): string {
    this.capturing = false;
    if (!this.parts.length) {
      if (end - this.captureStart > this.maxElementBytes) this.tooBig();
      return decoder.decode(buf.subarray(this.captureStart, end));
    }
    const total = this.partsBytes + end;
    if (total > this.maxElementBytes) this.tooBig();
    const all = new Uint8Array(total);
    let o = 0;
    for (const p of this.parts) {
      all.set(p, o);
      o += p.length;
    }
    all.set(buf.subarray(0, end), o);
    this.parts = [];
    this.partsBytes = 0;
    // One decode per element, so a multi-byte character split between chunks comes out whole.
    return decoder.decode(all);
  }

  private valueStart(buf: Uint8Array, i: number, b: number) {
    if (this.depth === 0 && b !== OPEN_OBJECT) this.fail("the top level is not an object", i);
    if (this.depth === 1) {
      const kind: JsonKind =
        b === OPEN_OBJECT ? "object" : b === OPEN_ARRAY ? "array" : b === QUOTE ? "string" : "scalar";
      this.keys.set(this.key, kind);
      this.collecting = kind === "array" && this.wanted.has(this.key);
      if (this.collecting) this.elementIndex = 0;
    } else if (this.depth === 2 && this.collecting) this.captureBegin(i);
    if (b === OPEN_OBJECT || b === OPEN_ARRAY) {
      if (this.depth >= this.maxDepth)
        throw new JsonLimitError(`JSON nested deeper than ${this.maxDepth} levels at byte ${this.offset + i}`);
      this.stack[++this.depth] = b === OPEN_OBJECT ? OBJECT : ARRAY;
      this.expect = b === OPEN_OBJECT ? E_KEY_OR_CLOSE : E_VALUE_OR_CLOSE;
    } else if (b === QUOTE) {
      this.inString = true;
      this.stringIsKey = false;
    } else if (SCALAR[b]) this.inScalar = true;
    else this.fail(`unexpected '${String.fromCharCode(b)}'`, i);
  }

  private close(buf: Uint8Array, i: number, type: number) {
    if (this.stack[this.depth] !== type) this.fail(`mismatched '${String.fromCharCode(buf[i])}'`, i);
    this.depth--;
    if (this.depth === 1) this.collecting = false;
    this.valueDone(buf, i + 1);
  }

  private keyDone(buf: Uint8Array, end: number) {
    this.expect = E_COLON;
    if (this.depth !== 1) return;
    const text = this.captureText(buf, end);
    try {
      this.key = JSON.parse(text) as string;
    } catch {
      this.fail(`bad key ${text.slice(0, 40)}`, end);
    }
  }

  /** A value ended just before `end` at the current depth. */
  private valueDone(buf: Uint8Array, end: number) {
    this.expect = this.depth === 0 ? E_END : E_COMMA_OR_CLOSE;
    if (this.depth !== 2 || !this.capturing) return;
    const text = this.captureText(buf, end);
    try {
      this.out.push([this.key, JSON.parse(text)]);
    } catch (e) {
      throw new JsonStreamError(
        `malformed JSON in element ${this.elementIndex} of '${this.key}' (before byte ${this.offset + end}): ${(e as Error).message}`,
      );
    }
    this.elementIndex++;
  }
}

/**
 * Reads `body` to the end, handing every element of the wanted top-level arrays to `onElement`. Returns the
 * top-level keys seen with the kind of their values. Throws JsonStreamError (JsonLimitError past a bound) for
 * anything but one well-formed object; the body is cancelled then.
 */
export async function scanJson(
  body: ReadableStream<Uint8Array>,
  opts: ScanJsonOptions,
): Promise<Map<string, JsonKind>> {
  const scanner = new JsonArrayScanner(opts);
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      for (const [key, v] of scanner.push(value)) {
        const p = opts.onElement(key, v);
        if (p) await p;
      }
    }
    scanner.end();
    return scanner.keys;
  } catch (e) {
    await reader.cancel().catch(() => {});
    throw e;
  } finally {
    reader.releaseLock();
  }
}
