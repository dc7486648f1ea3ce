import type { ImageMime } from "./probe";

/**
 * Whether an image's bytes reach its structural end, read as a stream (chunks of any size, one pass, memory of a
 * few bytes): a JPEG's EOI marker (ITU T.81 §B.2: segments skipped by their lengths, entropy-coded data scanned for
 * a marker, FF00 stuffing and RSTn passed over), a PNG's IEND chunk (PNG §5.3: chunks skipped by their lengths).
 * What follows the end is ignored, as browsers, libjpeg, libpng and Pillow do: phone trailers after EOI, bytes
 * after IEND. Other formats count as complete once non-empty (their decoders judge the rest).
 */
export class ImageEndScanner {
  private state: "marker" | "length" | "skip" | "entropy" | "entropy-ff" | "png-chunk" | "done" | "corrupt";
  /** Header bytes gathered across chunk ends: a marker and length (JPEG), a length and type (PNG). */
  private head = new Uint8Array(8);
  private have = 0;
  private skip = 0;
  private afterSkip: "marker" | "entropy" | "png-chunk" = "marker";
  private marker = 0;
  private seen = 0;

  constructor(private readonly mime: ImageMime) {
    this.state = mime === "image/jpeg" ? "marker" : mime === "image/png" ? "png-chunk" : "done";
    // Past the SOI marker / the PNG signature.
    this.skip = mime === "image/jpeg" ? 2 : mime === "image/png" ? 8 : 0;
    if (this.skip) {
      this.afterSkip = this.state as "marker" | "png-chunk";
      this.state = "skip";
    }
  }

  /** True once the structural end has been read (and, for other formats, once any byte has). */
  get complete(): boolean {
    return this.state === "done" && (this.mime === "image/jpeg" || this.mime === "image/png" || this.seen > 0);
  }

  /** Feeds the next bytes of the file (any chunking). Corrupt structure never completes. */
  push(b: Uint8Array): void {
    this.seen += b.length;
    let i = 0;
    const n = b.length;
    while (i < n && this.state !== "done" && this.state !== "corrupt") {
      switch (this.state) {
        case "skip": {
          const take = Math.min(this.skip, n - i);
          this.skip -= take;
          i += take;
          if (this.skip === 0) this.state = this.afterSkip;
          break;
        }
        case "marker": {
          // 0xFF, any fill bytes, then the marker code.
          const v = b[i++];
          if (this.have === 0) {
            if (v !== 0xff) this.state = "corrupt";
            else this.have = 1;
            break;
          }
          if (v === 0xff) break;
          this.have = 0;
          this.onMarker(v);
          break;
        }
        case "length": {
          this.head[this.have++] = b[i++];
          if (this.have === 2) {
            const len = (this.head[0] << 8) | this.head[1];
            this.have = 0;
            if (len < 2) {
              this.state = "corrupt";
              break;
            }
            this.skip = len - 2;
            this.afterSkip = this.marker === 0xda ? "entropy" : "marker";
            this.state = this.skip ? "skip" : this.afterSkip;
          }
          break;
        }
        case "entropy": {
          const ff = b.indexOf(0xff, i);
          if (ff < 0) i = n;
          else {
            i = ff + 1;
            this.state = "entropy-ff";
          }
          break;
        }
        case "entropy-ff": {
          const v = b[i++];
          if (v === 0xff) break;
          if (v === 0x00 || (v >= 0xd0 && v <= 0xd7)) this.state = "entropy";
          else this.onMarker(v);
          break;
        }
        case "png-chunk": {
          this.head[this.have++] = b[i++];
          if (this.have === 8) {
            this.have = 0;
            const len = ((this.head[0] << 24) >>> 0) + (this.head[1] << 16) + (this.head[2] << 8) + this.head[3];
            const type = String.fromCharCode(this.head[4], this.head[5], this.head[6], this.head[7]);
            if (type === "IEND") this.state = "done";
            else if (len > 0x7fffffff) this.state = "corrupt";
            else {
              this.skip = len + 4; // data and CRC
              this.afterSkip = "png-chunk";
              this.state = "skip";
            }
          }
          break;
        }
      }
    }
  }

  private onMarker(v: number) {
    if (v === 0xd9) this.state = "done";
    else if (v === 0xd8 || v === 0x01 || (v >= 0xd0 && v <= 0xd7)) this.state = "marker";
    else {
      this.marker = v;
      this.state = "length";
    }
  }
}
