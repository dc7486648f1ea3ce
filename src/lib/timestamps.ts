/**
 * Remo's datetimes as Django REST framework writes them: ISO 8601 with microseconds (`2020-05-29T13:56:05.883892Z`).
 * D1's strftime('%f') and Date#toISOString keep milliseconds, so the last three digits are zeros: the shape the SDK
 * and its users see is Remo's, the precision is the platform's.
 */
export function remoDateTime(iso: string): string;
export function remoDateTime(iso: string | null): string | null;
export function remoDateTime(iso: string | null): string | null {
  if (iso === null) return null;
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?Z$/.exec(iso);
  if (!m) return iso;
  return `${m[1]}.${(m[2] ?? "").padEnd(6, "0")}Z`;
}
