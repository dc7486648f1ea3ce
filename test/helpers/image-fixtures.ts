import { env } from "cloudflare:test";
import { createMessageBatch, createExecutionContext, getQueueResult } from "cloudflare:test";
import { expect } from "vitest";
import { handleQueue } from "../../src/jobs";
import { PhotonImage } from "@cf-wasm/photon";
import { probeImage } from "../../src/media/probe";

/** A fixture photo's bytes (1024 px wide JPEGs from Remo's example dataset). */
export async function fixturePhoto(name = "001a809ad40a2f84.jpg"): Promise<Uint8Array> {
  const res = await env.FIXTURES.fetch(`http://fixtures/local/remo-object-detection/images/${name}`);
  expect(res.status).toBe(200);
  return new Uint8Array(await res.arrayBuffer());
}

/** A deterministic picture (gradients and a grid, so crops differ) as RGBA. */
export function pattern(width: number, height: number): Uint8Array {
  const d = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      const grid = ((x >> 5) % 2) ^ ((y >> 5) % 2);
      d[i] = (x * 255) / width;
      d[i + 1] = (y * 255) / height;
      d[i + 2] = grid ? 200 : 40;
      d[i + 3] = 255;
    }
  }
  return d;
}

/** Test inputs of any size: photon directly, without the serving path's output limit. */
function encode(w: number, h: number, f: (img: PhotonImage) => Uint8Array) {
  const img = new PhotonImage(pattern(w, h), w, h);
  try {
    return f(img);
  } finally {
    img.free();
  }
}
export const makeJpeg = (w: number, h: number, q = 90) => encode(w, h, (i) => i.get_bytes_jpeg(q));
export const makePng = (w: number, h: number) => encode(w, h, (i) => i.get_bytes());

/** The type and size a response's bytes declare in their header. */
export async function imageInfo(res: Response) {
  const bytes = new Uint8Array(await res.arrayBuffer());
  const info = probeImage(bytes);
  expect(info, `not an image: ${new TextDecoder().decode(bytes.slice(0, 300))}`).not.toBeNull();
  return { ...info!, bytes };
}

/** Runs one queue message through the real consumer and returns what it did with it. */
export async function runJob(body: unknown, queue = "remo-ingest") {
  const batch = createMessageBatch(queue, [{ id: `m-${Math.random()}`, timestamp: new Date(), attempts: 1, body }]);
  const ctx = createExecutionContext();
  await handleQueue(batch, env);
  return getQueueResult(batch, ctx);
}
