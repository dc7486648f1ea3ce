import { ArchiveError, ByteReader, entryNameProblem } from "./archives";

export interface TarEntry {
  name: string;
  size: number;
  /** file | directory | symlink | hardlink | other */
  type: "file" | "directory" | "symlink" | "hardlink" | "other";
  /** Byte offset (in the tar stream) where this entry's headers begin: a reader can resume there. */
  offset: number;
  /** The entry's bytes; must be drained (or left: the reader skips what was not read) before the next entry. */
  chunks(): AsyncGenerator<Uint8Array>;
}

const dec = new TextDecoder();
const str = (b: Uint8Array, at: number, n: number) => {
  const s = b.subarray(at, at + n);
  const z = s.indexOf(0);
  return dec.decode(z >= 0 ? s.subarray(0, z) : s);
};

function octal(b: Uint8Array, at: number, n: number): number {
  if (b[at] & 0x80) {
    // GNU base-256 for sizes over 8 GB.
    let v = 0;
    for (let i = at + 1; i < at + n; i++) v = v * 256 + b[i];
    return v;
  }
  const s = str(b, at, n).trim();
  return s ? parseInt(s, 8) : 0;
}

function checksumOk(h: Uint8Array): boolean {
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i];
  return sum === octal(h, 148, 8);
}

/** Entries of a tar stream (ustar, GNU long names, pax `path`/`size`), one at a time, never buffering data. */
export async function* tarEntries(stream: ReadableStream<Uint8Array>): AsyncGenerator<TarEntry> {
  const r = new ByteReader(stream);
  let longName: string | null = null;
  let pax: Record<string, string> = {};
  let start = 0;
  try {
    for (;;) {
      if (longName === null && !Object.keys(pax).length) start = r.consumed;
      const h = await r.exact(512);
      if (h.length === 0) return;
      if (h.length < 512) throw new ArchiveError("truncated tar header");
      if (h.every((x) => x === 0)) return;
      if (!checksumOk(h)) throw new ArchiveError("corrupt tar header (bad checksum)");
      const flag = String.fromCharCode(h[156] || 48);
      let size = octal(h, 124, 12);
      if (pax.size) size = Number(pax.size);
      const padded = Math.ceil(size / 512) * 512;
      if (flag === "L" || flag === "x" || flag === "g") {
        if (size > 1024 * 1024) throw new ArchiveError("tar metadata entry too large");
        const data = await r.exact(padded);
        const text = dec.decode(data.subarray(0, size));
        if (flag === "L") longName = text.replace(/\0+$/, "");
        else if (flag === "x") pax = parsePax(text);
        continue;
      }
      const prefix = String.fromCharCode(...h.subarray(257, 262)) === "ustar" ? str(h, 345, 155) : "";
      const name = pax.path ?? longName ?? (prefix ? `${prefix}/${str(h, 0, 100)}` : str(h, 0, 100));
      longName = null;
      pax = {};
      const type =
        flag === "0" || flag === "7"
          ? "file"
          : flag === "5"
            ? "directory"
            : flag === "2"
              ? "symlink"
              : flag === "1"
                ? "hardlink"
                : "other";
      let left = size;
      const entry: TarEntry = {
        name,
        size,
        type,
        offset: start,
        async *chunks() {
          while (left > 0) {
            const c = await r.some(Math.min(left, 1 << 20));
            if (!c) throw new ArchiveError(`truncated tar entry ${name}`);
            left -= c.length;
            yield c;
          }
        },
      };
      yield entry;
      await r.skip(left + (padded - size));
    }
  } finally {
    await r.cancel();
  }
}

function parsePax(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^\d+ ([^=]+)=(.*)$/.exec(line);
    if (m) out[m[1]] = m[2];
  }
  return out;
}

export { entryNameProblem };
