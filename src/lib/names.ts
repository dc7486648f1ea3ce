/** Longest class (and tag) name accepted, in characters: the API refuses longer ones (400), importers skip them. */
export const MAX_NAME_LENGTH = 255;

/**
 * Remo's capitalize_class_name (remo-reference §2.6): trimmed, inner whitespace runs collapsed, then Python's
 * str.capitalize (first character upper-case, the rest lower-case), so "human HAND" and " Human hand" are one class.
 */
export function normalizeClassName(name: string): string {
  const s = name.trim().replace(/\s+/g, " ");
  if (!s) return "";
  return s.charAt(0).toUpperCase() + s.slice(1).toLowerCase();
}

/** Tag names are stripped and lower-cased on the image route and on import (remo-reference §2.7). */
export function normalizeTagName(name: string): string {
  return name.trim().toLowerCase();
}

/** Remo's get_base_image_name: the part after the last `/` or `\`. */
export function baseName(fileName: string): string {
  const i = Math.max(fileName.lastIndexOf("/"), fileName.lastIndexOf("\\"));
  return i >= 0 ? fileName.slice(i + 1) : fileName;
}

// Remo's get_image_id probes these (its "tif" has no dot; kept, since a name like "abctif" may rely on it).
const PROBE_EXTENSIONS = [".jpg", ".png", ".jpeg", "tif", ".tiff"];

/**
 * The names an annotation row's file name may match, in order (remo-reference §3): "basename" is Remo's rule, the
 * base name then extension probes when it has none; "exact" (COCO `file_name`) is the whole name first, then the
 * same base-name rule, as the CSV importers match (`train/img_001.jpg` finds `img_001.jpg`). The first listed
 * name that is an image wins; for "exact", any but the first is a fallback the caller reports.
 */
export function candidateImageNames(fileName: string, match: "basename" | "exact"): string[] {
  if (match === "exact") return [...new Set([fileName, ...candidateImageNames(fileName, "basename")])];
  const base = baseName(fileName.trim());
  if (!base) return [];
  if (/\.[^.]+$/.test(base)) return [base];
  return [base, ...PROBE_EXTENSIONS.map((e) => base + e), ...PROBE_EXTENSIONS.map((e) => base + e.toUpperCase())];
}

/**
 * Remo's rename rule for a taken name: `Name`, then `Name (N)` with N one past the largest N in use.
 * `taken` are the names that equal `name` or start with `name (` (see `nameOrSuffixed`).
 */
export function nextFreeName(name: string, taken: string[]): string {
  if (!taken.includes(name)) return name;
  const prefix = `${name} (`;
  let max = 0;
  for (const t of taken) {
    const n = Number(t.slice(prefix.length, -1));
    if (t.startsWith(prefix) && t.endsWith(")") && Number.isInteger(n) && n > max) max = n;
  }
  return `${name} (${max + 1})`;
}
