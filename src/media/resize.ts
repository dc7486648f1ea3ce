import type { Raster } from "./raster";

/**
 * Separable resampling in plain TypeScript (a triangle filter whose support widens with the reduction, i.e.
 * area-weighted when shrinking, bilinear when enlarging). Runs on the JS heap, which the GC gives back, rather than
 * in photon's WASM memory, which never shrinks. A raster with alpha is premultiplied in place: `src` is consumed.
 */
export function resizeRaster(src: Raster, width: number, height: number): Raster {
  if (width === src.width && height === src.height) return src;
  if (!opaque(src.data)) {
    // Premultiplied alpha, so a transparent pixel's hidden colour never bleeds into its neighbours (a transparent
    // black next to white stays white at the edge, not grey), as libvips and Pillow resample. In 8 bits and in
    // place: the memory budget (LIMITS.maxRasterPixels) counts 4 bytes a pixel, and a 16-bit or second copy of an
    // 8 MP raster would not fit the isolate beside the passes' own rasters.
    premultiplyInPlace(src.data);
    const p = resizeChannels(src.data, src.width, src.height, width, height);
    return { width, height, data: unpremultiplyInPlace(p) };
  }
  return { width, height, data: resizeChannels(src.data, src.width, src.height, width, height) };
}

function resizeChannels(data: Uint8Array, w: number, h: number, width: number, height: number): Uint8Array {
  // The vertical pass (whole rows, sequential) costs about half the horizontal one per sample: run it first, on
  // the larger raster, unless it enlarges.
  if (height <= h) {
    const vertical = height === h ? data : resample1d(data, w, h, height, false);
    return width === w ? vertical : resample1d(vertical, w, height, width, true);
  }
  const horizontal = width === w ? data : resample1d(data, w, h, width, true);
  return resample1d(horizontal, width, h, height, false);
}

/** RGBA → colour × alpha / 255, rounded (alpha unchanged). The caller's raster is consumed. */
function premultiplyInPlace(d: Uint8Array) {
  for (let i = 0; i < d.length; i += 4) {
    const a = d[i + 3];
    if (a === 255) continue;
    d[i] = (d[i] * a + 127) / 255;
    d[i + 1] = (d[i + 1] * a + 127) / 255;
    d[i + 2] = (d[i + 2] * a + 127) / 255;
  }
}

function unpremultiplyInPlace(d: Uint8Array): Uint8Array {
  for (let i = 0; i < d.length; i += 4) {
    const a = d[i + 3];
    if (a === 255) continue;
    if (!a) {
      d[i] = d[i + 1] = d[i + 2] = 0;
      continue;
    }
    d[i] = Math.min(255, Math.round((d[i] * 255) / a));
    d[i + 1] = Math.min(255, Math.round((d[i + 1] * 255) / a));
    d[i + 2] = Math.min(255, Math.round((d[i + 2] * 255) / a));
  }
  return d;
}

/** Weights are fixed point: integer arithmetic end to end, and each output's weights sum to exactly 1 << BITS. */
const BITS = 14;
const ONE = 1 << BITS;
const HALF = 1 << (BITS - 1);

function weights(inSize: number, outSize: number) {
  const scale = inSize / outSize;
  const support = Math.max(1, scale);
  const starts = new Int32Array(outSize);
  const counts = new Int32Array(outSize);
  const maxTaps = Math.ceil(support) * 2 + 1;
  const w = new Int32Array(outSize * maxTaps);
  const f = new Float64Array(maxTaps);
  for (let o = 0; o < outSize; o++) {
    const center = (o + 0.5) * scale - 0.5;
    const lo = Math.max(0, Math.floor(center - support + 1));
    const hi = Math.min(inSize - 1, Math.ceil(center + support - 1));
    let total = 0;
    let n = 0;
    for (let i = lo; i <= hi && n < maxTaps; i++, n++) {
      f[n] = Math.max(0, 1 - Math.abs(i - center) / support);
      total += f[n];
    }
    if (total <= 0) {
      // Degenerate (enlarging a 1-pixel edge): take the nearest sample.
      f[0] = 1;
      n = 1;
      total = 1;
      starts[o] = Math.min(inSize - 1, Math.max(0, Math.round(center)));
    } else starts[o] = lo;
    let sum = 0;
    let big = 0;
    for (let k = 0; k < n; k++) {
      const v = Math.round((f[k] / total) * ONE);
      w[o * maxTaps + k] = v;
      sum += v;
      if (v > w[o * maxTaps + big]) big = k;
    }
    w[o * maxTaps + big] += ONE - sum;
    counts[o] = n;
  }
  return { starts, counts, w, maxTaps };
}

function opaque(data: Uint8Array): boolean {
  for (let i = 3; i < data.length; i += 4) if (data[i] !== 255) return false;
  return true;
}

/** One axis of the resize. Opaque rasters take the register-summed paths; others the general ones, alpha included. */
function resample1d(data: Uint8Array, w: number, h: number, outLen: number, horizontal: boolean): Uint8Array {
  const inLen = horizontal ? w : h;
  const { starts, counts, w: wt, maxTaps } = weights(inLen, outLen);
  const ow = horizontal ? outLen : w;
  const oh = horizontal ? h : outLen;
  const out = new Uint8Array(ow * oh * 4);
  // Opaque rasters (every decoded JPEG) skip the alpha sums.
  const solid = opaque(data);
  if (horizontal) {
    // Up to four taps per output pixel (the common case): offsets and weights laid out flat, taps summed in
    // registers; missing taps read the first one with weight 0.
    const four = solid && maxTaps <= 5 && counts.every((n) => n <= 4);
    const off = new Int32Array(four ? outLen * 4 : 0);
    const fw = new Int32Array(four ? outLen * 4 : 0);
    if (four)
      for (let o = 0; o < outLen; o++)
        for (let k = 0; k < 4; k++) {
          off[o * 4 + k] = (starts[o] + (k < counts[o] ? k : 0)) * 4;
          fw[o * 4 + k] = k < counts[o] ? wt[o * maxTaps + k] : 0;
        }
    for (let y = 0; y < h; y++) {
      const row = y * w * 4;
      const orow = y * ow * 4;
      if (four) {
        for (let o = 0, j = orow; o < outLen; o++, j += 4) {
          const t = o * 4;
          const i0 = row + off[t];
          const i1 = row + off[t + 1];
          const i2 = row + off[t + 2];
          const i3 = row + off[t + 3];
          const f0 = fw[t];
          const f1 = fw[t + 1];
          const f2 = fw[t + 2];
          const f3 = fw[t + 3];
          out[j] = (HALF + data[i0] * f0 + data[i1] * f1 + data[i2] * f2 + data[i3] * f3) >> BITS;
          out[j + 1] = (HALF + data[i0 + 1] * f0 + data[i1 + 1] * f1 + data[i2 + 1] * f2 + data[i3 + 1] * f3) >> BITS;
          out[j + 2] = (HALF + data[i0 + 2] * f0 + data[i1 + 2] * f1 + data[i2 + 2] * f2 + data[i3 + 2] * f3) >> BITS;
          out[j + 3] = 255;
        }
        continue;
      }
      for (let o = 0; o < outLen; o++) {
        let r = HALF;
        let g = HALF;
        let b = HALF;
        let a = HALF;
        let i = row + starts[o] * 4;
        const wo = o * maxTaps;
        const n = counts[o];
        for (let k = 0; k < n; k++, i += 4) {
          const f = wt[wo + k];
          r += data[i] * f;
          g += data[i + 1] * f;
          b += data[i + 2] * f;
          if (!solid) a += data[i + 3] * f;
        }
        const j = orow + o * 4;
        out[j] = r >> BITS;
        out[j + 1] = g >> BITS;
        out[j + 2] = b >> BITS;
        out[j + 3] = solid ? 255 : a >> BITS;
      }
    }
  } else {
    // Row by row: each output row is a weighted sum of a few input rows, read sequentially, a pixel at a time
    // (opaque rasters skip alpha).
    const stride = w * 4;
    const acc = new Int32Array(stride);
    for (let o = 0; o < outLen; o++) {
      const s = starts[o];
      const n = counts[o];
      const wo = o * maxTaps;
      const orow = o * stride;
      if (n <= 4 && solid) {
        // Up to four input rows (every reduction down to 1/1.5 or so, and all enlargements): summed in registers,
        // written once. Missing taps read row s with weight 0.
        const f0 = wt[wo];
        const f1 = n > 1 ? wt[wo + 1] : 0;
        const f2 = n > 2 ? wt[wo + 2] : 0;
        const f3 = n > 3 ? wt[wo + 3] : 0;
        const b0 = s * stride;
        const b1 = n > 1 ? b0 + stride : b0;
        const b2 = n > 2 ? b0 + 2 * stride : b0;
        const b3 = n > 3 ? b0 + 3 * stride : b0;
        for (let x = 0; x < stride; x += 4) {
          for (let ch = x; ch < x + 3; ch++)
            out[orow + ch] =
              (HALF + data[b0 + ch] * f0 + data[b1 + ch] * f1 + data[b2 + ch] * f2 + data[b3 + ch] * f3) >> BITS;
          out[orow + x + 3] = 255;
        }
        continue;
      }
      acc.fill(HALF);
      for (let k = 0; k < n; k++) {
        const f = wt[wo + k];
        const base = (s + k) * stride;
        if (solid)
          for (let x = 0; x < stride; x += 4) {
            acc[x] += data[base + x] * f;
            acc[x + 1] += data[base + x + 1] * f;
            acc[x + 2] += data[base + x + 2] * f;
          }
        else for (let x = 0; x < stride; x++) acc[x] += data[base + x] * f;
      }
      for (let x = 0; x < stride; x += 4) {
        out[orow + x] = acc[x] >> BITS;
        out[orow + x + 1] = acc[x + 1] >> BITS;
        out[orow + x + 2] = acc[x + 2] >> BITS;
        out[orow + x + 3] = solid ? 255 : acc[x + 3] >> BITS;
      }
    }
  }
  return out;
}
