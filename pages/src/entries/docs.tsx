/**
 * /docs: the API reference, rendered from /openapi.json by Swagger UI under the pages' top bar. Its prebuilt bundle
 * is vendored into /assets/swagger/ at build time (pages/build.mjs), so nothing comes from a CDN; it runs under the
 * page CSP as is (no inline script; its inline styles are allowed).
 */
import { Layout, mount } from "../lib/layout";
import "../styles/docs.css";

declare global {
  interface Window {
    SwaggerUIBundle?: (options: Record<string, unknown>) => unknown;
  }
}

/** Adds a script or stylesheet from this server to <head>. Resolves once loaded; rejects naming the URL if not. */
function load(tag: "script" | "link", url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const el = document.createElement(tag);
    if (el instanceof HTMLScriptElement) el.src = url;
    else Object.assign(el, { rel: "stylesheet", href: url });
    el.onload = () => resolve();
    el.onerror = () => reject(new Error(`could not load ${url}`));
    document.head.append(el);
  });
}

mount(
  <Layout>
    <div id="swagger" class="swagger-host">
      <p class="muted">Loading the API reference…</p>
    </div>
  </Layout>,
);

async function main() {
  await Promise.all([
    load("link", "/assets/swagger/swagger-ui.css"),
    load("script", "/assets/swagger/swagger-ui-bundle.js"),
  ]);
  const host = document.getElementById("swagger")!;
  host.textContent = "";
  window.SwaggerUIBundle!({
    url: "/openapi.json",
    domNode: host,
    deepLinking: true,
    // "Try it out" calls go out same-origin, so the browser session's cookie signs them (writes carry Origin).
    withCredentials: true,
  });
}

main().catch((e) => {
  const host = document.getElementById("swagger");
  if (host) {
    host.textContent = "";
    const box = Object.assign(document.createElement("div"), { className: "error", textContent: String(e) });
    box.setAttribute("role", "alert");
    host.append(box);
  }
});
