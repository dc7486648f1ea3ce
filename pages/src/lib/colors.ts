/**
 * One colour per class, the same on every page and every load: a hue from a hash of the class name (so a class keeps
 * its colour when other classes come and go), spread by the golden angle.
 */
export function classColor(name: string): string {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
  const hue = ((h >>> 0) * 137.508) % 360;
  return `hsl(${hue.toFixed(0)} 85% 50%)`;
}
