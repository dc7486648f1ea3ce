/**
 * A colour per class, the same on every page and every load, derived from the class name alone (so a class keeps its
 * colour when other classes come and go): the hue from an FNV-1a hash of the name, and the lightness from three
 * levels picked by other bits of the hash, so classes whose hues land close (Wheel and Tire, say) still differ.
 * Objects with no class are grey.
 */
export function classColor(name: string): string {
  if (!name) return "hsl(220 9% 55%)";
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
  // A final avalanche (murmur3's fmix32): FNV's low bits barely change between similar names.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  const u = h >>> 0;
  const hue = u % 360;
  const lightness = [42, 55, 68][(u >>> 9) % 3];
  return `hsl(${hue} 80% ${lightness}%)`;
}
