/**
 * Image type and size from the first bytes only (magic numbers and headers), never a decode: this is what lets
 * us refuse an image whose decode would not fit in a Worker before spending memory on it.
 */
import { hasBytes } from "../lib/bytes";

export type ImageMime = "image/jpeg" | "image/png" | "image/gif" | "image/webp" | "image/tiff";

export interface ImageInfo {
  mime: ImageMime;
  /** Upright size: the stored size with EXIF orientations 5–8 (a quarter turn) applied, as browsers show it. */
  width: number;
  height: number;
  /** EXIF orientation 1–8 (TIFF tag 0x0112 in a JPEG's APP1 Exif segment); 1 when absent or out of range. */
  orientation: number;
}

/** How many bytes one ranged read of a header takes (JPEG SOF markers can sit after large EXIF/ICC segments). */
export const PROBE_BYTES = 256 * 1024;

/** How far into an object probeObject looks for a JPEG frame header (64 windows; ICC profiles and XMP are < 1 MiB). */
export const MAX_HEADER_BYTES = 16 * 1024 * 1024;

/** The type from magic bytes alone (enough bytes: 12). */
export function sniffImageMime(b: Uint8Array): ImageMime | null {
  if (hasBytes(b, [0xff, 0xd8, 0xff])) return "image/jpeg";
  if (hasBytes(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "image/png";
  if (hasBytes(b, "GIF87a") || hasBytes(b, "GIF89a")) return "image/gif";
  if (hasBytes(b, "RIFF") && hasBytes(b, "WEBP", 8)) return "image/webp";
  if (hasBytes(b, [0x49, 0x49, 0x2a, 0]) || hasBytes(b, [0x4d, 0x4d, 0, 0x2a])) return "image/tiff";
  return null;
}

/** True when EXIF orientation `o` turns the picture a quarter (5–8): the upright size is the stored one swapped. */
export const swapsAxes = (o: number) => o >= 5 && o <= 8;

/**
 * Type, upright width and height, and EXIF orientation from the header, given the file's bytes from its start
 * (the whole file, or as much as holds the header: JPEG segments are walked however far the frame header is).
 * Null when the bytes are not a recognised image or the header is truncated/corrupt (no SOF before the bytes
 * end, zero dimensions).
 */
export function probeImage(b: Uint8Array): ImageInfo | null {
  const mime = sniffImageMime(b);
  if (!mime) return null;
  if (mime === "image/jpeg") {
    const walk = { next: 2, orientation: 1 };
    const dims = walkJpeg(b, 0, walk);
    return dims === "more" ? null : info(mime, dims, walk.orientation);
  }
  const dims =
    mime === "image/png"
      ? pngSize(b)
      : mime === "image/gif"
        ? gifSize(b)
        : mime === "image/webp"
          ? webpSize(b)
          : tiffSize(b);
  return info(mime, dims, 1);
}

/**
 * probeImage for an object read by ranges (`read(offset, length)`, shorter at the end) of `size` bytes: one read
 * of PROBE_BYTES, then, for a JPEG whose frame header lies further, one read per PROBE_BYTES window from the next
 * segment on. Bounded by the file and by MAX_HEADER_BYTES: every read moves forward or ends the walk.
 */
export async function probeObject(
  read: (offset: number, length: number) => Promise<Uint8Array>,
  size: number,
): Promise<ImageInfo | null> {
  const head = await read(0, Math.min(size, PROBE_BYTES));
  const mime = sniffImageMime(head);
  if (mime !== "image/jpeg") return probeImage(head);
  const walk = { next: 2, orientation: 1 };
  let buf = head;
  let at = 0;
  for (;;) {
    const dims = walkJpeg(buf, at, walk);
    if (dims !== "more") return info(mime, dims, walk.orientation);
    // No progress from a window's start means the segment there runs past the end of the file. Past
    // MAX_HEADER_BYTES it is no photo's header (each window is a subrequest: a file of empty segments must not
    // cost thousands of them).
    if (walk.next >= size || (walk.next === at && at > 0) || walk.next > MAX_HEADER_BYTES) return null;
    at = walk.next;
    buf = await read(at, Math.min(size - at, PROBE_BYTES));
  }
}

function info(mime: ImageMime, dims: Dims, orientation: number): ImageInfo | null {
  if (!dims || dims.width <= 0 || dims.height <= 0) return null;
  const swap = swapsAxes(orientation);
  return { mime, width: swap ? dims.height : dims.width, height: swap ? dims.width : dims.height, orientation };
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

/**
 * Walks JPEG segments of `b` (the file's bytes from offset `at`) from `walk.next` to the frame header (SOF),
 * noting the EXIF orientation on the way. "more" when the bytes end first (walk.next then says where to go on),
 * null when the structure is corrupt or a scan/end comes before any frame header.
 */
function walkJpeg(b: Uint8Array, at: number, walk: { next: number; orientation: number }): Dims | "more" {
  let i = walk.next - at;
  for (;;) {
    walk.next = at + i;
    if (i + 4 > b.length) return "more";
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
      if (i + 9 > b.length) return "more";
      return { height: u16be(b, i + 5), width: u16be(b, i + 7) };
    }
    if (marker === 0xe1 && walk.orientation === 1) {
      if (i + 2 + len > b.length) return "more"; // at most 64 KiB: a window always holds it whole
      if (hasBytes(b, "Exif\0\0", i + 4)) walk.orientation = exifOrientation(b.subarray(i + 10, i + 2 + len));
    }
    i += 2 + len;
  }
}

/**
 * The Orientation tag (0x0112, SHORT) of IFD0 in a TIFF structure (the body of an Exif APP1 segment after
 * "Exif\0\0"; Exif 2.32 §4.6.4), or 1 when it is missing, malformed or out of 1–8.
 */
export function exifOrientation(t: Uint8Array): number {
  if (t.length < 8) return 1;
  const le = t[0] === 0x49 && t[1] === 0x49;
  if (!le && !(t[0] === 0x4d && t[1] === 0x4d)) return 1;
  const r16 = (i: number) => (le ? u16le(t, i) : u16be(t, i));
  const ifd = le ? u32le(t, 4) : u32be(t, 4);
  if (ifd + 2 > t.length) return 1;
  const n = r16(ifd);
  for (let k = 0; k < n; k++) {
    const e = ifd + 2 + k * 12;
    if (e + 12 > t.length) return 1;
    if (r16(e) !== 0x0112) continue;
    const v = r16(e + 2) === 3 ? r16(e + 8) : 1;
    return v >= 1 && v <= 8 ? v : 1;
  }
  return 1;
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
