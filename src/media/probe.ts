/**
 * Image type and size from the first bytes only (magic numbers and headers), never a decode: this is what lets
 * us refuse an image whose decode would not fit in a Worker before spending memory on it.
 */
import { hasBytes } from "../lib/bytes";

export type ImageMime = "image/jpeg" | "image/png" | "image/gif" | "image/webp" | "image/tiff";

export interface ImageInfo {
  mime: ImageMime;
  width: number;
  height: number;
}

/** How many leading bytes `probeImage` may need: JPEG SOF markers can sit after large EXIF/ICC segments. */
export const PROBE_BYTES = 256 * 1024;

/** The type from magic bytes alone (enough bytes: 12). */
export function sniffImageMime(b: Uint8Array): ImageMime | null {
  if (hasBytes(b, [0xff, 0xd8, 0xff])) return "image/jpeg";
  if (hasBytes(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "image/png";
  if (hasBytes(b, "GIF87a") || hasBytes(b, "GIF89a")) return "image/gif";
  if (hasBytes(b, "RIFF") && hasBytes(b, "WEBP", 8)) return "image/webp";
  if (hasBytes(b, [0x49, 0x49, 0x2a, 0]) || hasBytes(b, [0x4d, 0x4d, 0, 0x2a])) return "image/tiff";
  return null;
}

/**
 * Type, width and height from the header. Null when the bytes are not a recognised image or the header is
 * truncated/corrupt (no SOF before the data ends, zero dimensions).
 */
export function probeImage(b: Uint8Array): ImageInfo | null {
  const mime = sniffImageMime(b);
  if (!mime) return null;
  const dims =
    mime === "image/jpeg"
      ? jpegSize(b)
      : mime === "image/png"
        ? pngSize(b)
        : mime === "image/gif"
          ? gifSize(b)
          : mime === "image/webp"
            ? webpSize(b)
            : tiffSize(b);
  if (!dims || dims.width <= 0 || dims.height <= 0) return null;
  return { mime, ...dims };
}

function ascii(b: Uint8Array, at: number, n: number): string {
  let s = "";
  for (let i = at; i < at + n && i < b.length; i++) s += String.fromCharCode(b[i]);
  return s;
}

const u16be = (b: Uint8Array, i: number) => (b[i] << 8) | b[i + 1];
const u16le = (b: Uint8Array, i: number) => b[i] | (b[i + 1] << 8);
const u32be = (b: Uint8Array, i: number) => ((b[i] << 24) >>> 0) + (b[i + 1] << 16) + (b[i + 2] << 8) + b[i + 3];
const u32le = (b: Uint8Array, i: number) => b[i] + (b[i + 1] << 8) + (b[i + 2] << 16) + ((b[i + 3] << 24) >>> 0);

type Dims = { width: number; height: number } | null;

function jpegSize(b: Uint8Array): Dims {
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return null;
    const marker = b[i + 1];
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2;
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) return null; // end of image / start of scan before any frame header
    const len = u16be(b, i + 2);
    if (len < 2) return null;
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC)
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { height: u16be(b, i + 5), width: u16be(b, i + 7) };
    }
    i += 2 + len;
  }
  return null;
}

function pngSize(b: Uint8Array): Dims {
  if (b.length < 24 || !hasBytes(b, "IHDR", 12)) return null;
  return { width: u32be(b, 16), height: u32be(b, 20) };
}

function gifSize(b: Uint8Array): Dims {
  if (b.length < 10) return null;
  return { width: u16le(b, 6), height: u16le(b, 8) };
}

function webpSize(b: Uint8Array): Dims {
  if (b.length < 30) return null;
  const chunk = ascii(b, 12, 4);
  if (chunk === "VP8 ") {
    if (!hasBytes(b, [0x9d, 0x01, 0x2a], 23)) return null;
    return { width: u16le(b, 26) & 0x3fff, height: u16le(b, 28) & 0x3fff };
  }
  if (chunk === "VP8L") {
    if (b[20] !== 0x2f) return null;
    const bits = u32le(b, 21);
    return { width: (bits & 0x3fff) + 1, height: ((bits >> 14) & 0x3fff) + 1 };
  }
  if (chunk === "VP8X") {
    return { width: 1 + (b[24] | (b[25] << 8) | (b[26] << 16)), height: 1 + (b[27] | (b[28] << 8) | (b[29] << 16)) };
  }
  return null;
}

function tiffSize(b: Uint8Array): Dims {
  const le = b[0] === 0x49;
  const r16 = (i: number) => (le ? u16le(b, i) : u16be(b, i));
  const r32 = (i: number) => (le ? u32le(b, i) : u32be(b, i));
  const ifd = r32(4);
  if (ifd + 2 > b.length) return null;
  const n = r16(ifd);
  let width = 0;
  let height = 0;
  for (let k = 0; k < n; k++) {
    const e = ifd + 2 + k * 12;
    if (e + 12 > b.length) return null;
    const tag = r16(e);
    const type = r16(e + 2);
    const value = type === 3 ? r16(e + 8) : r32(e + 8);
    if (tag === 256) width = value;
    if (tag === 257) height = value;
  }
  return width && height ? { width, height } : null;
}
