import type { Context } from "hono";
import type { AppEnv } from "../env";

/**
 * The HTML every page starts as: the bundled stylesheet and the page's module (built by pages/build.mjs into
 * public/assets/, served by Workers static assets), and a JSON boot block with the signed-in user and the page's
 * path ids. The session key is never in it: it stays in the HttpOnly cookie.
 */
export interface PageBoot {
  page: string;
  user: { id: number; name: string; email: string } | null;
  allowSignup: boolean;
  params: Record<string, string>;
}

/**
 * Same-origin only: scripts, styles, images, tiles and API calls all come from this Worker. Inline styles stay
 * allowed for the libraries that position overlays with `style=` (OpenSeadragon, Swagger UI); no inline script.
 */
export const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join("; ");

/** JSON safe inside <script>: no `</script>`, no `<!--`, no U+2028/2029 surprises. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch]!);

/** Renders page `entry` (pages/src/entries/<entry>.tsx) with `title`, answering `status` (200, or 404 for the 404 page). */
export function renderPage(
  c: Context<AppEnv>,
  entry: string,
  title: string,
  params: Record<string, string> = {},
  status: 200 | 404 = 200,
) {
  const user = c.var.user ? { id: c.var.user.id, name: c.var.user.name, email: c.var.user.email } : null;
  const boot: PageBoot = { page: entry, user, allowSignup: c.env.ALLOW_SIGNUP === "true", params };
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · Remo</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/app.css">
<link rel="stylesheet" href="/assets/${entry}.css">
<script type="module" src="/assets/${entry}.js"></script>
</head>
<body>
<script type="application/json" id="boot">${scriptJson(boot)}</script>
<div id="app"></div>
</body>
</html>`;
  c.header("content-security-policy", PAGE_CSP);
  c.header("x-content-type-options", "nosniff");
  c.header("referrer-policy", "same-origin");
  // Pages carry the user's name: never cached by a shared cache, and always re-checked (a revoked session must show).
  c.header("cache-control", "no-store");
  return c.html(html, status);
}
