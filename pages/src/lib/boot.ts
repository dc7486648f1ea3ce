/**
 * What the Worker put in the page (src/lib/page-shell.ts): the signed-in user (never a key: the session is an
 * HttpOnly cookie), whether signup is open, and the ids from the page's path.
 */
export interface Boot {
  page: string;
  user: { id: number; name: string; email: string } | null;
  allowSignup: boolean;
  params: Record<string, string>;
}

let cached: Boot | null = null;

export function boot(): Boot {
  if (cached) return cached;
  const el = document.getElementById("boot");
  cached = el ? (JSON.parse(el.textContent || "{}") as Boot) : { page: "", user: null, allowSignup: false, params: {} };
  return cached;
}

/** A numeric path parameter the Worker already validated (its route only matches digits). */
export function idParam(name: string): number {
  return Number(boot().params[name]);
}
