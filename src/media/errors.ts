/**
 * Errors the media layer throws. Routes map them to statuses: corrupt bytes are 422, an image whose decode would
 * not fit the memory budget is 413, a format our streaming decoders do not read is handled by the guarded fallback.
 */
export class CorruptImageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CorruptImageError";
  }
}

/**
 * A valid image our streaming decoders do not read. `fallback` says whether photon's decoder may try it (CMYK,
 * interlaced PNG, WebP, ...); false for what photon decodes wrongly or not at all (lossless, arithmetic-coded,
 * hierarchical and 12-bit JPEG), which the routes then refuse by name (415).
 */
export class UnsupportedImageError extends Error {
  constructor(
    message: string,
    readonly fallback = true,
  ) {
    super(message);
    this.name = "UnsupportedImageError";
  }
}

export class ImageTooLargeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ImageTooLargeError";
  }
}
