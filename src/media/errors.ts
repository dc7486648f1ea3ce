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

export class UnsupportedImageError extends Error {
  constructor(message: string) {
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
