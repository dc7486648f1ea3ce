import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { probeImage, sniffImageMime } from "../src/media/probe";

const fixture = async (name: string) =>
  new Uint8Array(await (await env.FIXTURES.fetch(`http://fixtures/local/remo-object-detection/images/${name}`)).arrayBuffer());

function png(width: number, height: number): Uint8Array {
  const b = new Uint8Array(33);
  b.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
  new DataView(b.buffer).setUint32(16, width);
  new DataView(b.buffer).setUint32(20, height);
  return b;
}

describe("image probing (header only)", () => {
  it("reads the fixture JPEGs' size from their headers", async () => {
    const info = probeImage(await fixture("001a809ad40a2f84.jpg"));
    expect(info).toMatchObject({ mime: "image/jpeg", width: 1024 });
    expect(info!.height).toBeGreaterThan(100);
  });

  it("reads PNG, GIF and WebP (VP8X) headers", () => {
    expect(probeImage(png(100_000, 100_000))).toEqual({ mime: "image/png", width: 100_000, height: 100_000, orientation: 1 });
    const gif = new Uint8Array([0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x20, 0x03, 0x58, 0x02, 0, 0]);
    expect(probeImage(gif)).toEqual({ mime: "image/gif", width: 800, height: 600, orientation: 1 });
    const webp = new Uint8Array(30);
    webp.set(new TextEncoder().encode("RIFF"), 0);
    webp.set(new TextEncoder().encode("WEBPVP8X"), 8);
    webp.set([0x3f, 0x01, 0x00, 0xdf, 0x00, 0x00], 24); // 320 x 224
    expect(probeImage(webp)).toEqual({ mime: "image/webp", width: 320, height: 224, orientation: 1 });
  });

  it("refuses non-images, truncated JPEG headers and zero sizes", async () => {
    expect(sniffImageMime(new TextEncoder().encode("file_name,classes\n"))).toBeNull();
    expect(probeImage(new TextEncoder().encode("<html>"))).toBeNull();
    const jpeg = await fixture("001a809ad40a2f84.jpg");
    expect(probeImage(jpeg.slice(0, 20))).toBeNull();
    expect(probeImage(png(0, 10))).toBeNull();
  });
});
