import { CorruptImageError, UnsupportedImageError } from "./errors";
import { allocateCoefficients, decodeProgressiveScan, type ProgressiveFrame } from "./jpeg-progressive";
import { decodeScan, type BandSink, type Component } from "./jpeg-scan";
import { buildHuffman, ZIGZAG, type Huffman, type Scale } from "./jpeg-tables";
import type { Raster, Rect } from "./raster";

/**
 * A streaming JPEG decoder in plain TypeScript, written for the 128 MB isolate:
 * - it decodes one MCU row at a time, so memory is the output raster plus a strip, never the whole image;
 * - it scales in the DCT domain by 1/2, 1/4 or 1/8 (each block's IDCT yields 4×4, 2×2 or 1×1 samples, equal to the
 *   box average of the full-size block), so a 12 MP photo viewed at 1/4 costs 0.75 MP of output;
 * - it skips the IDCT of blocks outside the requested region and stops after the region's last row;
 * - corrupt input is a thrown CorruptImageError (a JS exception: nothing leaks, unlike a WASM panic).
 * Progressive JPEGs keep their coefficients until the last scan (jpeg-progressive.ts), then render the same way.
 * CMYK and non-interleaved baseline JPEGs raise UnsupportedImageError that the caller may hand to photon (within
 * its size guard); lossless, hierarchical, arithmetic-coded and 12-bit JPEGs raise one without that fallback
 * (photon returns noise or fails on them), naming what is not supported.
 */

/**
 * The kind of JPEG a frame or table marker announces that this decoder does not read, or null (ITU T.81 Table
 * B.1: SOF3/SOF7/SOF11/SOF15 lossless, SOF5–7 and SOF13–15 hierarchical (differential), SOF9–15 and DAC
 * arithmetic-coded).
 */
export function unsupportedJpegKind(marker: number): string | null {
  if (marker >= 0xc9 && marker <= 0xcf) return "arithmetic-coded";
  if (marker === 0xc3) return "lossless";
  if (marker >= 0xc5 && marker <= 0xc7) return "hierarchical";
  return null;
}

export type { Scale };

/**
 * Decodes `region` (in scaled coordinates: the scaled image is ceil(W/s) × ceil(H/s)) at scale 1/s into RGBA.
 * Without a region, the whole scaled image. With `bands`, rows are handed over band by band instead of returned.
 */
export function decodeJpeg(b: Uint8Array, scale: Scale = 1, region?: Rect, bands?: BandSink): Raster {
  const quant: (Int32Array | null)[] = [null, null, null, null];
  const dcTables: (Huffman | null)[] = [null, null, null, null];
  const acTables: (Huffman | null)[] = [null, null, null, null];
  let frame: { width: number; height: number; comps: Component[] } | null = null;
  let restartInterval = 0;
  let progressive = false;
  let prog: ProgressiveFrame | null = null;
  let adobeTransform = -1;
  let i = 2;
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) throw new CorruptImageError("not a JPEG (missing SOI)");

  const u16 = (at: number) => {
    if (at + 1 >= b.length) throw new CorruptImageError("truncated JPEG");
    return (b[at] << 8) | b[at + 1];
  };

  for (;;) {
    if (i + 1 >= b.length) throw new CorruptImageError("truncated JPEG: no image data");
    if (b[i] !== 0xff) throw new CorruptImageError("corrupt JPEG: marker expected");
    const marker = b[i + 1];
    if (marker === 0xff) {
      i++;
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2;
      continue;
    }
    if (marker === 0xd9) {
      if (prog && frame) return decodeScan(b, 0, frame, quant, 0, adobeTransform, scale, region, prog, bands);
      throw new CorruptImageError("corrupt JPEG: end of image before any scan");
    }
    const len = u16(i + 2);
    const end = i + 2 + len;
    if (len < 2 || end > b.length) throw new CorruptImageError("truncated JPEG segment");
    let p = i + 4;
    switch (marker) {
      case 0xdb: // DQT
        while (p < end) {
          const pq = b[p] >> 4;
          const tq = b[p] & 15;
          if (tq > 3 || pq > 1) throw new CorruptImageError("corrupt JPEG: bad quantization table");
          p++;
          const t = new Int32Array(64);
          for (let k = 0; k < 64; k++) {
            if (p + (pq ? 1 : 0) >= end + (pq ? 0 : 1))
              throw new CorruptImageError("corrupt JPEG: short quantization table");
            t[ZIGZAG[k]] = pq ? u16(p) : b[p];
            p += pq ? 2 : 1;
          }
          quant[tq] = t;
        }
        break;
      case 0xc4: // DHT
        while (p < end) {
          const tc = b[p] >> 4;
          const th = b[p] & 15;
          if (tc > 1 || th > 3 || p + 17 > end) throw new CorruptImageError("corrupt JPEG: bad Huffman table");
          const counts = b.subarray(p + 1, p + 17);
          let total = 0;
          for (let k = 0; k < 16; k++) total += counts[k];
          if (total > 256 || p + 17 + total > end) throw new CorruptImageError("corrupt JPEG: bad Huffman table");
          const table = buildHuffman(counts, b.subarray(p + 17, p + 17 + total));
          (tc === 0 ? dcTables : acTables)[th] = table;
          p += 17 + total;
        }
        break;
      case 0xdd: // DRI
        restartInterval = u16(p);
        break;
      case 0xee: // APP14 Adobe: tells RGB from YCbCr for 3-component images
        if (len >= 14 && String.fromCharCode(b[p], b[p + 1], b[p + 2], b[p + 3], b[p + 4]) === "Adobe")
          adobeTransform = b[p + 11];
        break;
      case 0xc0:
      case 0xc1:
      case 0xc2: {
        if (frame) throw new CorruptImageError("corrupt JPEG: two frame headers");
        progressive = marker === 0xc2;
        if (b[p] !== 8) throw new UnsupportedImageError(`${b[p]}-bit JPEG is not supported`, false);
        const height = u16(p + 1);
        const width = u16(p + 3);
        const nc = b[p + 5];
        if (!width || !height) throw new UnsupportedImageError("JPEG without a height in its frame header");
        if (nc !== 1 && nc !== 3) throw new UnsupportedImageError(`JPEG with ${nc} components`);
        if (len < 8 + nc * 3) throw new CorruptImageError("corrupt JPEG: short frame header");
        const comps: Component[] = [];
        for (let k = 0; k < nc; k++) {
          const q = p + 6 + k * 3;
          const h = b[q + 1] >> 4;
          const v = b[q + 1] & 15;
          if (h < 1 || h > 4 || v < 1 || v > 4 || b[q + 2] > 3)
            throw new CorruptImageError("corrupt JPEG: bad sampling factors");
          comps.push({
            id: b[q],
            h,
            v,
            tq: b[q + 2],
            blocksPerLine: 0,
            strip: new Uint8Array(0),
            stripWidth: 0,
            dcTable: null,
            acTable: null,
            pred: 0,
          });
        }
        // A single-component image is coded one block per MCU whatever its sampling factors say.
        if (nc === 1) comps[0].h = comps[0].v = 1;
        frame = { width, height, comps };
        break;
      }
      case 0xda: {
        if (!frame) throw new CorruptImageError("corrupt JPEG: scan before frame header");
        const ns = b[p];
        if (ns < 1 || ns > frame.comps.length || len < 6 + ns * 2)
          throw new CorruptImageError("corrupt JPEG: bad scan header");
        if (!progressive && ns !== frame.comps.length) throw new UnsupportedImageError("non-interleaved baseline JPEG");
        const [ss, se, a] = [b[p + 1 + ns * 2], b[p + 2 + ns * 2], b[p + 3 + ns * 2]];
        const scanComps: Component[] = [];
        for (let k = 0; k < ns; k++) {
          const cid = b[p + 1 + k * 2];
          const tables = b[p + 2 + k * 2];
          const comp = frame.comps.find((c) => c.id === cid);
          if (!comp) throw new CorruptImageError("corrupt JPEG: scan names an unknown component");
          comp.dcTable = dcTables[tables >> 4] ?? null;
          comp.acTable = acTables[tables & 15] ?? null;
          // Progressive DC scans use no AC table and AC scans no DC table.
          const needDc = !progressive || ss === 0;
          const needAc = !progressive || ss > 0;
          if ((needDc && !comp.dcTable) || (needAc && !comp.acTable))
            throw new CorruptImageError("corrupt JPEG: missing Huffman table");
          scanComps.push(comp);
        }
        if (new Set(scanComps).size !== ns) throw new CorruptImageError("corrupt JPEG: a scan names a component twice");
        for (const c of frame.comps)
          if (!quant[c.tq]) throw new CorruptImageError("corrupt JPEG: missing quantization table");
        if (!progressive)
          return decodeScan(b, end, frame, quant, restartInterval, adobeTransform, scale, region, undefined, bands);
        prog ??= allocateCoefficients(frame.width, frame.height, frame.comps);
        i = decodeProgressiveScan(b, end, prog, { comps: scanComps, ss, se, ah: a >> 4, al: a & 15, restartInterval });
        continue;
      }
      default: {
        const kind = unsupportedJpegKind(marker);
        if (kind) throw new UnsupportedImageError(`${kind} JPEG is not supported`, false);
      }
    }
    i = end;
  }
}
