import { encodeRaster } from "../../src/media/encode";
import { CorruptImageError, ImageTooLargeError, UnsupportedImageError } from "../../src/media/errors";
import { fitWithin } from "../../src/media/geometry";
import { ImageEndScanner } from "../../src/media/image-end";
import { probeImage } from "../../src/media/probe";
import { renderRegion } from "../../src/media/render";

const MEDIA_ERRORS = [CorruptImageError, UnsupportedImageError, ImageTooLargeError];

/**
 * What the service does with an uploaded file, in the media layer: probe, structural end scan, and two renders
 * encoded as JPEG (the whole image fitted in `fit` px, and a middle crop of up to `fit` px at 1:1). Answers the
 * outcomes ("no header", or "ok"/the media error's name per render, joined by "+"); any other exception is thrown,
 * naming `name`. Shared by the fuzz test (test/media-fuzz.test.ts) and the fuzz benchmark (bench/media-fuzz.bench.mjs).
 */
export function exerciseImage(name: string, bytes: Uint8Array, fit: number): string {
  const info = probeImage(bytes);
  if (!info) return "no header";
  new ImageEndScanner(info.mime).push(bytes);
  const src = { bytes, width: info.width, height: info.height };
  const whole = fitWithin(info.width, info.height, fit);
  const mid = {
    x: Math.floor(info.width / 3),
    y: Math.floor(info.height / 3),
    w: Math.max(1, Math.min(fit, Math.floor(info.width / 3))),
    h: Math.max(1, Math.min(fit, Math.floor(info.height / 3))),
  };
  const outcomes: string[] = [];
  for (const [crop, w, h] of [
    [{ x: 0, y: 0, w: info.width, h: info.height }, whole.width, whole.height],
    [mid, mid.w, mid.h],
  ] as const) {
    try {
      encodeRaster(renderRegion(src, crop, w, h), "jpg", 90);
      outcomes.push("ok");
    } catch (e) {
      if (!MEDIA_ERRORS.some((E) => e instanceof E)) throw new Error(`${name}: ${(e as Error).stack}`);
      outcomes.push((e as Error).name);
    }
  }
  return outcomes.join("+");
}
