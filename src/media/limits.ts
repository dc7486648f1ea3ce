/**
 * The memory budget of image work inside one 128 MB isolate. Pixels cost 4 bytes each as RGBA on the JS heap
 * (given back by the GC) and, measured, about 12 bytes each inside photon to encode a JPEG (16 for WebP) and 11.8
 * to decode one: WASM memory, reused but never given back, so photon's high-water mark is its largest single job.
 * The bounds keep photon under 64 MiB and the sum well under 128 MB with room for the source bytes and the runtime.
 */
export const LIMITS = {
  /** Largest source our streaming decoders read (time grows with it; memory does not). */
  maxSourcePixels: 100_000_000,
  /** Longest side (decoders allocate a few rows of this width): JPEG's own maximum. */
  maxSide: 65_535,
  /** Largest source bytes read into memory for a decode. */
  maxSourceBytes: 40 * 1024 * 1024,
  /** Largest decoded raster (a region at some scale) held at once: 8 MP = 32 MiB. */
  maxRasterPixels: 8 * 1024 * 1024,
  /** Largest image we encode (photon memory: 50 MiB for a 4 MP JPEG): 4 MP, e.g. 2048 × 2048. */
  maxOutputPixels: 4 * 1024 * 1024,
  /** WebP encoding needs more of photon's memory (a 4 MP WebP grows it to 66 MiB, a 4 MP JPEG to 50 MiB). */
  maxWebpOutputPixels: 2_500_000,
  /** Coefficients a progressive JPEG keeps until its last scan (2 bytes each; 36 MiB for 12 MP at 4:2:0). */
  maxProgressiveBytes: 40 * 1024 * 1024,
  /** Largest image handed to photon's own decoder (formats the streaming decoders do not read): ~47 MiB of WASM. */
  photonDecodePixels: 4 * 1024 * 1024,
  /** After this many photon traps in one isolate, its fallback decoder is no longer used. */
  maxPhotonTraps: 50,
} as const;
