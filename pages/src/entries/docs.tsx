/**
 * /docs: the API reference, rendered from /openapi.json by Swagger UI. Its prebuilt bundle is vendored into
 * /assets/swagger/ at build time (pages/build.mjs), so nothing comes from a CDN.
 */
declare global {
  interface Window {
    SwaggerUIBundle?: (options: Record<string, unknown>) => unknown;
  }
}

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

async function main() {
  const app = document.getElementById("app")!;
  app.innerHTML = '<p class="muted" style="padding:20px">Loading the API reference…</p>';
  await Promise.all([
    load("link", "/assets/swagger/swagger-ui.css"),
    load("script", "/assets/swagger/swagger-ui-bundle.js"),
  ]);
  app.innerHTML = "";
  window.SwaggerUIBundle!({
    url: "/openapi.json",
    domNode: app,
    deepLinking: true,
    // "Try it out" calls go out same-origin, so the browser session's cookie signs them (writes carry Origin).
    withCredentials: true,
  });
}

main().catch((e) => {
  document.getElementById("app")!.textContent = String(e);
});

export {};
