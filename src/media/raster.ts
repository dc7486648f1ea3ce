/** Decoded pixels: RGBA, row-major, 4 bytes a pixel. */
export interface Raster {
  width: number;
  height: number;
  data: Uint8Array;
}

/** An integer rectangle in pixels. */
export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}
