import { deflateSync } from "fflate";

/**
 * A streaming zip writer: entries go out as they are produced (sizes and CRC in a data descriptor after each
 * entry), streamed entries compressed by the native `CompressionStream("deflate-raw")` and small whole ones by
 * fflate, with Zip64 records when an archive passes 65,535 entries or 4 GiB, so a YOLO/VOC export of any size is
 * one valid zip. Only the central directory (about 50 bytes + the name per entry) is kept until the end.
 */

export interface ZipEntry {
  name: string;
  data: AsyncIterable<Uint8Array> | Uint8Array | string;
}

const CRC_TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/** CRC-32 (zip's), continued from `crc` (pass the previous result; 0 to start). */
export function crc32(data: Uint8Array, crc = 0): number {
  let c = ~crc;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

const U32 = 0xffffffff;
const U16 = 0xffff;
// Below this an entry is stored, not deflated: per-image label files are a few hundred bytes.
const STORE_BELOW = 256;

class Bytes {
  buf = new Uint8Array(1024);
  len = 0;
  private view = new DataView(this.buf.buffer);
  private grow(n: number) {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u16(v: number) {
    this.grow(2);
    this.view.setUint16(this.len, v, true);
    this.len += 2;
  }
  u32(v: number) {
    this.grow(4);
    this.view.setUint32(this.len, v >>> 0, true);
    this.len += 4;
  }
  u64(v: number) {
    this.grow(8);
    this.view.setUint32(this.len, v % 2 ** 32, true);
    this.view.setUint32(this.len + 4, Math.floor(v / 2 ** 32), true);
    this.len += 8;
  }
  bytes(b: Uint8Array) {
    this.grow(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  take(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

function dosDateTime(d: Date): [number, number] {
  const time = (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | Math.floor(d.getUTCSeconds() / 2);
  const date = ((d.getUTCFullYear() - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate();
  return [time, date];
}

async function* asChunks(data: ZipEntry["data"]): AsyncGenerator<Uint8Array> {
  if (typeof data === "string") yield new TextEncoder().encode(data);
  else if (data instanceof Uint8Array) yield data;
  else yield* data;
}

/** Deflates `data` with the native stream, calling `seen` on every input chunk (for the CRC and size). */
async function* deflateRaw(data: AsyncIterable<Uint8Array>, seen: (c: Uint8Array) => void): AsyncGenerator<Uint8Array> {
  const cs = new CompressionStream("deflate-raw");
  const writer = cs.writable.getWriter();
  const reader = cs.readable.getReader();
  const pump = (async () => {
    try {
      for await (const c of data) {
        seen(c);
        await writer.write(c);
      }
      await writer.close();
    } catch (e) {
      await writer.abort(e).catch(() => {});
      throw e;
    }
  })();
  pump.catch(() => {});
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
  await pump;
}

export async function* zipStream(
  entries: AsyncIterable<ZipEntry> | Iterable<ZipEntry>,
  now = new Date(),
): AsyncGenerator<Uint8Array> {
  const enc = new TextEncoder();
  const [time, date] = dosDateTime(now);
  const central = new Bytes();
  let offset = 0;
  let count = 0;
  for await (const entry of entries) {
    const name = enc.encode(entry.name);
    // An entry given whole (a label file, an XML) is encoded here; a streamed one goes through CompressionStream.
    const whole =
      typeof entry.data === "string" ? enc.encode(entry.data) : entry.data instanceof Uint8Array ? entry.data : null;
    const store = whole !== null && whole.length < STORE_BELOW;
    const method = store ? 0 : 8;
    const local = new Bytes();
    local.u32(0x04034b50);
    local.u16(20);
    local.u16(0x0808); // sizes in a data descriptor; UTF-8 names
    local.u16(method);
    local.u16(time);
    local.u16(date);
    local.u32(0);
    local.u32(0);
    local.u32(0);
    local.u16(name.length);
    local.u16(0);
    local.bytes(name);
    const localHeader = local.take();
    yield localHeader;
    const headerOffset = offset;
    offset += localHeader.length;

    let crc = 0;
    let size = 0;
    let csize = 0;
    const seen = (c: Uint8Array) => {
      crc = crc32(c, crc);
      size += c.length;
    };
    if (whole) {
      // Small, already in memory: one synchronous deflate is far cheaper than a native stream per entry.
      seen(whole);
      const out = store ? whole : deflateSync(whole);
      csize = out.length;
      yield out;
    } else {
      for await (const c of deflateRaw(asChunks(entry.data), seen)) {
        csize += c.length;
        yield c;
      }
    }
    offset += csize;

    const big = size >= U32 || csize >= U32;
    const dd = new Bytes();
    dd.u32(0x08074b50);
    dd.u32(crc);
    if (big) {
      dd.u64(csize);
      dd.u64(size);
    } else {
      dd.u32(csize);
      dd.u32(size);
    }
    const descriptor = dd.take();
    yield descriptor;
    offset += descriptor.length;

    const extra = new Bytes();
    if (size >= U32) extra.u64(size);
    if (csize >= U32) extra.u64(csize);
    if (headerOffset >= U32) extra.u64(headerOffset);
    central.u32(0x02014b50);
    central.u16(45);
    central.u16(extra.len ? 45 : 20);
    central.u16(0x0808);
    central.u16(method);
    central.u16(time);
    central.u16(date);
    central.u32(crc);
    central.u32(csize >= U32 ? U32 : csize);
    central.u32(size >= U32 ? U32 : size);
    central.u16(name.length);
    central.u16(extra.len ? extra.len + 4 : 0);
    central.u16(0);
    central.u16(0);
    central.u16(0);
    central.u32(0);
    central.u32(headerOffset >= U32 ? U32 : headerOffset);
    central.bytes(name);
    if (extra.len) {
      central.u16(0x0001);
      central.u16(extra.len);
      central.bytes(extra.take());
    }
    count++;
  }

  const cdOffset = offset;
  const cdSize = central.len;
  yield central.buf.subarray(0, central.len);
  const end = new Bytes();
  const zip64 = count >= U16 || cdOffset >= U32 || cdSize >= U32;
  if (zip64) {
    const recordOffset = cdOffset + cdSize;
    end.u32(0x06064b50);
    end.u64(44);
    end.u16(45);
    end.u16(45);
    end.u32(0);
    end.u32(0);
    end.u64(count);
    end.u64(count);
    end.u64(cdSize);
    end.u64(cdOffset);
    end.u32(0x07064b50);
    end.u32(0);
    end.u64(recordOffset);
    end.u32(1);
  }
  end.u32(0x06054b50);
  end.u16(0);
  end.u16(0);
  end.u16(zip64 ? U16 : count);
  end.u16(zip64 ? U16 : count);
  end.u32(zip64 && cdSize >= U32 ? U32 : cdSize);
  end.u32(zip64 ? U32 : cdOffset);
  end.u16(0);
  yield end.take();
}
