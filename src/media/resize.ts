import type { Raster } from "./raster";

/**
 * Separable resampling in plain TypeScript (a triangle filter whose support widens with the reduction, i.e.
 * area-weighted when shrinking, bilinear when enlarging). Runs on the JS heap, which the GC gives back, rather than
 * in photon's WASM memory, which never shrinks.
 */
export function resizeRaster(src: Raster, width: number, height: number): Raster {
  if (width === src.width && height === src.height) return src;
  const horizontal = resample1d(src.data, src.width, src.height, width, true);
  const out = resample1d(horizontal, width, src.height, height, false);
  return { width, height, data: out };
}

function weights(inSize: number, outSize: number) {
  const scale = inSize / outSize;
  const support = Math.max(1, scale);
  const starts = new Int32Array(outSize);
  const counts = new Int32Array(outSize);
  const maxTaps = Math.ceil(support) * 2 + 1;
  const w = new Float32Array(outSize * maxTaps);
  for (let o = 0; o < outSize; o++) {
    const center = (o + 0.5) * scale - 0.5;
    const lo = Math.max(0, Math.floor(center - support + 1));
    const hi = Math.min(inSize - 1, Math.ceil(center + support - 1));
    let total = 0;
    let n = 0;
    for (let i = lo; i <= hi && n < maxTaps; i++, n++) {
      const v = Math.max(0, 1 - Math.abs(i - center) / support);
      w[o * maxTaps + n] = v;
      total += v;
    }
    if (total <= 0) {
      // Degenerate (enlarging a 1-pixel edge): take the nearest sample.
      w[o * maxTaps] = 1;
      n = 1;
      total = 1;
      starts[o] = Math.min(inSize - 1, Math.max(0, Math.round(center)));
    } else starts[o] = lo;
    for (let k = 0; k < n; k++) w[o * maxTaps + k] /= total;
    counts[o] = n;
  }
  return { starts, counts, w, maxTaps };
}

function resample1d(data: Uint8Array, w: number, h: number, outLen: number, horizontal: boolean): Uint8Array {
  const inLen = horizontal ? w : h;
  const { starts, counts, w: wt, maxTaps } = weights(inLen, outLen);
  const ow = horizontal ? outLen : w;
  const oh = horizontal ? h : outLen;
  const out = new Uint8Array(ow * oh * 4);
  if (horizontal) {
    for (let y = 0; y < h; y++) {
      const row = y * w * 4;
      const orow = y * ow * 4;
      for (let o = 0; o < outLen; o++) {
        let r = 0,
          g = 0,
          b = 0,
          a = 0;
        const s = starts[o];
        for (let k = 0; k < counts[o]; k++) {
          const f = wt[o * maxTaps + k];
          const i = row + (s + k) * 4;
          r += data[i] * f;
          g += data[i + 1] * f;
          b += data[i + 2] * f;
          a += data[i + 3] * f;
        }
        const j = orow + o * 4;
        out[j] = r + 0.5;
        out[j + 1] = g + 0.5;
        out[j + 2] = b + 0.5;
        out[j + 3] = a + 0.5;
      }
    }
  } else {
    // Row by row: each output row is a weighted sum of a few input rows, read sequentially.
    const stride = w * 4;
    const acc = new Float32Array(stride);
    for (let o = 0; o < outLen; o++) {
      const s = starts[o];
      acc.fill(0);
      for (let k = 0; k < counts[o]; k++) {
        const f = wt[o * maxTaps + k];
        const base = (s + k) * stride;
        for (let x = 0; x < stride; x++) acc[x] += data[base + x] * f;
      }
      const orow = o * stride;
      for (let x = 0; x < stride; x++) out[orow + x] = acc[x] + 0.5;
    }
  }
  return out;
}
