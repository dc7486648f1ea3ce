/**
 * Mutations of an image file with a fixed seed, aimed where decoders go wrong: truncation at many offsets, bytes
 * flipped in headers, quantisation and Huffman tables and entropy data, absurd frame sizes and sampling factors.
 * Shared by the fuzz test (test/media-fuzz.test.ts) and the fuzz benchmark (bench/fuzz.bench.mjs).
 */

export interface Mutant {
  name: string;
  bytes: Uint8Array;
}

function lcg(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 0x100000000;
  };
}

/** JPEG segments: [marker, offset of the FF, length field] up to and including the first SOS. */
function jpegSegments(b: Uint8Array): { marker: number; at: number; len: number }[] {
  const out: { marker: number; at: number; len: number }[] = [];
  let i = 2;
  while (i + 4 <= b.length && b[i] === 0xff) {
    const marker = b[i + 1];
    const len = (b[i + 2] << 8) | b[i + 3];
    out.push({ marker, at: i, len });
    if (marker === 0xda) break;
    i += 2 + len;
  }
  return out;
}

/** PNG chunks: [type, offset of the length field, data length]. */
function pngChunks(b: Uint8Array): { type: string; at: number; len: number }[] {
  const out: { type: string; at: number; len: number }[] = [];
  let i = 8;
  while (i + 8 <= b.length) {
    const len = ((b[i] << 24) >>> 0) + (b[i + 1] << 16) + (b[i + 2] << 8) + b[i + 3];
    out.push({ type: String.fromCharCode(...b.subarray(i + 4, i + 8)), at: i, len });
    i += 12 + len;
  }
  return out;
}

/** `perKind` mutants of each kind for a JPEG or PNG `b`, deterministic for a given seed. */
export function mutants(name: string, b: Uint8Array, seed: number, perKind = 6): Mutant[] {
  const rnd = lcg(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const out: Mutant[] = [];
  const push = (kind: string, f: (c: Uint8Array) => Uint8Array | void) => {
    const c = b.slice();
    out.push({ name: `${name}~${kind}`, bytes: f(c) ?? c });
  };
  for (let k = 0; k < perKind; k++) {
    const cut = 1 + int(b.length - 2);
    push(`cut${cut}`, (c) => c.subarray(0, cut));
  }
  const flipIn = (kind: string, from: number, to: number) => {
    if (to <= from) return;
    for (let k = 0; k < perKind; k++) {
      const at = from + int(to - from);
      const v = int(256);
      push(`${kind}@${at}=${v}`, (c) => void (c[at] = v));
    }
  };
  if (b[0] === 0xff && b[1] === 0xd8) {
    const segs = jpegSegments(b);
    const sos = segs.find((s) => s.marker === 0xda);
    const headerEnd = sos ? sos.at + 2 + sos.len : Math.min(b.length, 600);
    flipIn("header", 2, headerEnd);
    for (const s of segs.filter((s) => s.marker === 0xdb)) flipIn("dqt", s.at + 4, s.at + 2 + s.len);
    for (const s of segs.filter((s) => s.marker === 0xc4)) flipIn("dht", s.at + 4, s.at + 2 + s.len);
    flipIn("entropy", headerEnd, b.length - 2);
    const sof = segs.find((s) => s.marker >= 0xc0 && s.marker <= 0xc2);
    if (sof) {
      for (const [h, w] of [
        [65535, 65535],
        [0, 100],
        [1, 65535],
        [40000, 2500],
        [9000, 10000],
        [8, 8],
      ])
        push(`dims${w}x${h}`, (c) => void c.set([h >> 8, h & 255, w >> 8, w & 255], sof.at + 5));
      const nc = b[sof.at + 9];
      for (let k = 0; k < perKind; k++) {
        const comp = int(Math.max(1, nc));
        const v = int(256);
        push(`sampling${comp}=${v.toString(16)}`, (c) => void (c[sof.at + 11 + comp * 3] = v));
      }
      push("components=4", (c) => void (c[sof.at + 9] = 4));
      push("precision=12", (c) => void (c[sof.at + 4] = 12));
    }
  } else {
    const chunks = pngChunks(b);
    const ihdr = chunks.find((c) => c.type === "IHDR");
    if (ihdr) {
      flipIn("ihdr", ihdr.at + 8, ihdr.at + 8 + 13);
      for (const [w, h] of [
        [0xffffffff, 1],
        [65535, 65535],
        [1, 100000],
        [9000, 10000],
        [1, 1],
        [0, 5],
      ])
        push(`dims${w}x${h}`, (c) => {
          const dv = new DataView(c.buffer, c.byteOffset);
          dv.setUint32(ihdr.at + 8, w);
          dv.setUint32(ihdr.at + 12, h);
        });
      for (const [depth, ctype] of [
        [16, 3],
        [1, 6],
        [8, 7],
        [4, 0],
      ])
        push(`depth${depth}ctype${ctype}`, (c) => void c.set([depth, ctype], ihdr.at + 16));
      push("interlace=1", (c) => void (c[ihdr.at + 20] = 1));
    }
    for (const c of chunks.filter((c) => c.type === "IDAT")) flipIn("idat", c.at + 8, c.at + 8 + c.len);
    for (const c of chunks.filter((c) => c.type === "PLTE" || c.type === "tRNS"))
      flipIn(c.type.toLowerCase(), c.at, c.at + 8 + c.len);
  }
  return out;
}
