/** Whether `b` holds the bytes of `sig` at `at` (magic numbers; a string is compared as Latin-1 bytes). */
export function hasBytes(b: Uint8Array, sig: ArrayLike<number> | string, at = 0): boolean {
  if (b.length < at + sig.length) return false;
  for (let i = 0; i < sig.length; i++) {
    const want = typeof sig === "string" ? sig.charCodeAt(i) : sig[i];
    if (b[at + i] !== want) return false;
  }
  return true;
}
