import { createRoute, z } from "@hono/zod-openapi";
import { sql } from "drizzle-orm";
import { ApiError } from "../lib/errors";
import { createRouter } from "../lib/router";
import { jsonContent } from "../schemas/common";

export const metaRoutes = createRouter();

metaRoutes.openapi(
  createRoute({
    method: "get",
    path: "/healthz",
    tags: ["meta"],
    summary: "Liveness and D1 reachability",
    responses: {
      200: jsonContent(z.object({ status: z.literal("ok") }), "Healthy"),
      503: { description: "A binding failed" },
    },
  }),
  async (c) => {
    try {
      await c.var.db.run(sql`SELECT 1`);
    } catch {
      throw new ApiError("UNAVAILABLE", "D1 is unreachable");
    }
    return c.json({ status: "ok" as const }, 200);
  },
);

/** A self-contained reference page over /openapi.json (no CDN: it renders wherever the API runs). */
const DOCS_HTML = `<!doctype html><html><head><meta charset="utf-8"><title>Remo edge API</title>
<style>body{font:14px/1.5 system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}
details{border:1px solid #ddd;border-radius:6px;margin:.4em 0;padding:.3em .8em}summary{cursor:pointer}
code,pre{font:12px ui-monospace,monospace}pre{background:#f6f8fa;padding:.6em;overflow:auto}
.m{display:inline-block;width:4.5em;font-weight:700;text-transform:uppercase}.get{color:#1a7f37}.post{color:#0969da}
.put,.patch{color:#9a6700}.delete{color:#cf222e}h2{margin-top:1.5em}</style></head><body>
<h1>Remo edge API</h1><p>Machine-readable: <a href="/openapi.json">/openapi.json</a>. Authenticate with
<code>Authorization: Token &lt;key&gt;</code> (from <code>POST /api/rest-auth/login/</code>).</p><div id="r">Loading…</div>
<script>
fetch('/openapi.json').then(r=>r.json()).then(doc=>{const byTag={};
for(const [p,ops] of Object.entries(doc.paths||{}))for(const [m,op] of Object.entries(ops)){const t=(op.tags||['other'])[0];(byTag[t]=byTag[t]||[]).push([m,p,op]);}
const esc=s=>String(s).replace(/[&<>]/g,c=>({'&':'&amp;','<':'&lt;','>':'&gt;'}[c]));let h='';
for(const t of Object.keys(byTag).sort()){h+='<h2>'+esc(t)+'</h2>';for(const [m,p,op] of byTag[t]){
h+='<details><summary><span class="m '+m+'">'+m+'</span><code>'+esc(p)+'</code> — '+esc(op.summary||'')+'</summary><pre>'+esc(JSON.stringify({parameters:op.parameters,requestBody:op.requestBody,responses:op.responses},null,2))+'</pre></details>';}}
document.getElementById('r').innerHTML=h+'<h2>Schemas</h2><pre>'+esc(JSON.stringify((doc.components||{}).schemas||{},null,2))+'</pre>';});
</script></body></html>`;

metaRoutes.get("/docs", (c) => c.html(DOCS_HTML));
