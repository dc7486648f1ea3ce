import { ApiError } from "../../lib/errors";

/** Where a multipart file part's bytes go, chunk by chunk. */
export interface PartSink {
  write(chunk: Uint8Array): Promise<void>;
  close(): Promise<void>;
  abort(): Promise<void>;
}

export interface MultipartHandlers {
  field(name: string, value: string): void;
  file(field: string, filename: string, contentType: string): Promise<PartSink>;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const MAX_HEADER_BYTES = 16 * 1024;
const MAX_FIELD_BYTES = 1024 * 1024;

function indexOfSeq(buf: Uint8Array, seq: Uint8Array, from = 0): number {
  const first = seq[0];
  for (let i = buf.indexOf(first, from); i >= 0 && i <= buf.length - seq.length; i = buf.indexOf(first, i + 1)) {
    let j = 1;
    while (j < seq.length && buf[i + j] === seq[j]) j++;
    if (j === seq.length) return i;
  }
  return -1;
}

export function boundaryOf(contentType: string): string | null {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return m ? (m[1] ?? m[2]) : null;
}

function dispositionParam(header: string, key: string): string | null {
  const m = new RegExp(`(?:^|;)\\s*${key}\\*?=(?:"((?:[^"\\\\]|\\\\.)*)"|([^;]*))`, "i").exec(header);
  if (!m) return null;
  const v = m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : m[2].trim();
  return v.startsWith("UTF-8''") ? decodeURIComponent(v.slice(7)) : v;
}

function concat2(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (!a.length) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/**
 * A streaming multipart/form-data reader: file parts flow into their sink as they arrive (only a delimiter's
 * length is held back between chunks), so a 100 MB request never sits in memory. `maxBytes` caps the request.
 */
export async function parseMultipart(
  body: ReadableStream<Uint8Array>,
  boundary: string,
  h: MultipartHandlers,
  maxBytes: number,
): Promise<void> {
  const delim = enc.encode(`\r\n--${boundary}`);
  const reader = body.getReader();
  // The first delimiter has no leading CRLF: pretend it had one.
  let buf: Uint8Array = enc.encode("\r\n");
  let state: "preamble" | "afterDelim" | "headers" | "body" | "done" = "preamble";
  let sink: PartSink | null = null;
  let field: { name: string; parts: Uint8Array[]; size: number } | null = null;
  let total = 0;
  let eof = false;
  const emit = async (data: Uint8Array) => {
    if (!data.length) return;
    if (sink) await sink.write(data);
    else if (field) {
      field.size += data.length;
      if (field.size > MAX_FIELD_BYTES)
        throw new ApiError("PAYLOAD_TOO_LARGE", `form field ${field.name} is too large`);
      field.parts.push(data.slice());
    }
  };
  const endPart = async () => {
    if (sink) await sink.close();
    if (field) {
      const all = new Uint8Array(field.size);
      let o = 0;
      for (const p of field.parts) (all.set(p, o), (o += p.length));
      h.field(field.name, dec.decode(all));
    }
    sink = null;
    field = null;
  };
  try {
    while (state !== "done") {
      let progressed = true;
      while (progressed && state !== "done") {
        progressed = false;
        if (state === "preamble") {
          const i = indexOfSeq(buf, delim);
          if (i >= 0) {
            buf = buf.subarray(i + delim.length);
            state = "afterDelim";
            progressed = true;
          } else buf = buf.subarray(Math.max(0, buf.length - delim.length));
        } else if (state === "afterDelim") {
          if (buf.length >= 2) {
            if (buf[0] === 0x2d && buf[1] === 0x2d) state = "done";
            else {
              const nl = indexOfSeq(buf, enc.encode("\r\n"));
              if (nl < 0) {
                if (buf.length > 256) throw new ApiError("BAD_REQUEST", "malformed multipart body");
              } else {
                buf = buf.subarray(nl + 2);
                state = "headers";
                progressed = true;
              }
            }
          }
        } else if (state === "headers") {
          const end = indexOfSeq(buf, enc.encode("\r\n\r\n"));
          const empty = buf.length >= 2 && buf[0] === 13 && buf[1] === 10;
          if (end < 0 && !empty) {
            if (buf.length > MAX_HEADER_BYTES) throw new ApiError("BAD_REQUEST", "multipart part headers too large");
          } else {
            const headerText = empty ? "" : dec.decode(buf.subarray(0, end));
            buf = buf.subarray(empty ? 2 : end + 4);
            const headers = new Map<string, string>();
            for (const line of headerText.split("\r\n")) {
              const c = line.indexOf(":");
              if (c > 0) headers.set(line.slice(0, c).trim().toLowerCase(), line.slice(c + 1).trim());
            }
            const disp = headers.get("content-disposition") ?? "";
            const name = dispositionParam(disp, "name") ?? "";
            const filename = dispositionParam(disp, "filename");
            if (filename !== null)
              sink = await h.file(name, filename, headers.get("content-type") ?? "application/octet-stream");
            else field = { name, parts: [], size: 0 };
            state = "body";
            progressed = true;
          }
        } else if (state === "body") {
          const i = indexOfSeq(buf, delim);
          if (i >= 0) {
            await emit(buf.subarray(0, i));
            await endPart();
            buf = buf.subarray(i + delim.length);
            state = "afterDelim";
            progressed = true;
          } else if (buf.length > delim.length) {
            const keep = delim.length - 1;
            await emit(buf.subarray(0, buf.length - keep));
            buf = buf.subarray(buf.length - keep);
          }
        }
      }
      if ((state as string) === "done") break;
      if (eof) throw new ApiError("BAD_REQUEST", "multipart body ended before its closing boundary");
      const { done, value } = await reader.read();
      if (done) {
        eof = true;
        continue;
      }
      total += value.length;
      if (total > maxBytes)
        throw new ApiError(
          "PAYLOAD_TOO_LARGE",
          `request body over ${maxBytes} bytes: use direct uploads for big files`,
        );
      buf = concat2(buf.slice(), value);
    }
  } catch (e) {
    if (sink) await (sink as PartSink).abort();
    await reader.cancel().catch(() => {});
    throw e;
  }
  await reader.cancel().catch(() => {});
}
