// The local file service `npm start` runs beside the Worker: Remo's `local_files` are absolute paths on the user's
// own disk, and a Worker cannot read a disk. This serves the files under one root (LOCAL_FILES_ROOT, default the
// home directory) on loopback, to the Worker only (every request carries the secret start.mjs generated and gave
// the Worker through .dev.vars). It does every path check itself, on real paths: `..`, a path outside the root and
// a symlink that leads out of it are refused per file, with a sentence the upload session shows as it is.
//
//   GET /list?path=<abs>&limit=<n>  → {"files": [{"path", "size"}], "errors": [{"path", "error"}], "truncated"}
//                                     a file lists itself; a folder is walked recursively (dot-files skipped)
//   GET /file?path=<abs>            → the bytes (200), or {"error"} with 403 (refused) / 404 (missing)
import http from "node:http";
import { createHash, timingSafeEqual } from "node:crypto";
import { createReadStream } from "node:fs";
import { lstat, readdir, realpath, stat } from "node:fs/promises";
import path from "node:path";

const DEFAULT_LIMIT = 100_000;
const MAX_ERRORS = 100;

class Refused extends Error {
  /** @param {string} message @param {number} status */
  constructor(message, status = 403) {
    super(message);
    this.status = status;
  }
}

/** Whether any component of a path (separators of either kind) is hidden: starts with "." (".." included). */
const hidden = (/** @type {string} */ p) => p.split(/[\\/]+/).some((c) => c.startsWith("."));
const digest = (/** @type {string} */ s) => createHash("sha256").update(s).digest();
const inside = (/** @type {string} */ p, /** @type {string} */ dir) =>
  p === dir || p.startsWith(dir.endsWith(path.sep) ? dir : dir + path.sep);

/**
 * @param {{ root: string, secret: string }} opts
 * @returns {Promise<(req: http.IncomingMessage, res: http.ServerResponse) => void>}
 */
export async function createLocalFilesHandler({ root, secret }) {
  if (!secret || secret.length < 16) throw new Error("local file service: a secret of 16+ characters is required");
  const lexicalRoot = path.resolve(root);
  const realRoot = await realpath(lexicalRoot).catch((e) => {
    throw new Error(`local file service: the root ${lexicalRoot} cannot be read (${e.code}); set LOCAL_FILES_ROOT`);
  });
  const wanted = digest(secret);

  /** The real path of a requested path, or Refused saying why not. */
  async function resolve(/** @type {string | null} */ p) {
    if (!p || !path.isAbsolute(p)) throw new Refused(`${p ?? ""}: not an absolute path`);
    if (p.split(/[\\/]+/).includes("..")) throw new Refused(`${p}: '..' is not allowed in local_files paths`);
    const lexical = path.resolve(p);
    if (!inside(lexical, lexicalRoot) && !inside(lexical, realRoot))
      throw new Refused(
        `${p}: outside the local files root ${lexicalRoot} (set LOCAL_FILES_ROOT to share another folder)`,
      );
    // Hidden files and folders below the root (.ssh, .dev.vars, the local bucket under .wrangler) are never served,
    // named directly or not: the same rule as the folder walk.
    if (hidden(path.relative(inside(lexical, lexicalRoot) ? lexicalRoot : realRoot, lexical)))
      throw new Refused(`${p}: hidden files and folders (a name starting with '.') are not served`);
    let real;
    try {
      real = await realpath(lexical);
    } catch (e) {
      const code = /** @type {NodeJS.ErrnoException} */ (e).code;
      throw new Refused(
        `${p}: ${code === "ENOENT" || code === "ENOTDIR" ? "no such file or directory" : `cannot be read (${code})`}`,
        404,
      );
    }
    if (!inside(real, realRoot))
      throw new Refused(`${p}: a symlink that leads outside the local files root ${lexicalRoot}`);
    if (hidden(path.relative(realRoot, real)))
      throw new Refused(`${p}: a symlink to a hidden file or folder (a name starting with '.')`);
    return real;
  }

  /** Files under `p` (itself if a file), depth first in name order; symlinks followed only inside the root. */
  async function list(/** @type {string | null} */ p, /** @type {number} */ limit) {
    /** @type {{ path: string, size: number }[]} */ const files = [];
    /** @type {{ path: string, error: string }[]} */ const errors = [];
    const seen = new Set();
    let truncated = false;
    // Each error becomes a session event: a folder of a million unreadable entries must not make a million.
    let dropped = 0;
    const addError = (/** @type {string} */ where, /** @type {string} */ error) => {
      if (errors.length < MAX_ERRORS) errors.push({ path: where, error });
      else if (++dropped === 1) errors.push({ path: where, error: `${where}: and more errors, not listed` });
    };
    /** @param {string} shown the path as the user would write it @param {string} real */
    async function visit(shown, real) {
      if (files.length >= limit) return void (truncated = true);
      const st = await stat(real);
      if (st.isFile()) return void files.push({ path: shown, size: st.size });
      if (!st.isDirectory()) return void addError(shown, `${shown}: not a regular file or folder`);
      if (seen.has(real)) return; // a symlink loop, or a folder linked twice
      seen.add(real);
      const entries = (await readdir(real, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
      for (const e of entries) {
        if (e.name.startsWith(".")) continue; // system and hidden files, as Remo skips them
        const child = path.join(shown, e.name);
        try {
          // lstat, not the dirent's type: some file systems report no type, and a link must never be followed unchecked.
          const joined = path.join(real, e.name);
          const childReal = (await lstat(joined)).isSymbolicLink() ? await resolve(child) : joined;
          await visit(child, childReal);
        } catch (err) {
          addError(child, err instanceof Refused ? err.message : `${child}: ${String(err)}`);
        }
        if (truncated) return;
      }
    }
    try {
      await visit(path.resolve(p ?? ""), await resolve(p));
    } catch (err) {
      addError(p ?? "", err instanceof Refused ? err.message : `${p}: ${String(err)}`);
    }
    return { files, errors, truncated };
  }

  return (req, res) => {
    const reply = (/** @type {number} */ status, /** @type {unknown} */ body) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    const given = req.headers["x-local-files-secret"];
    if (typeof given !== "string" || !timingSafeEqual(digest(given), wanted))
      return reply(401, { error: "unauthorized" });
    const url = new URL(req.url ?? "/", "http://local");
    const p = url.searchParams.get("path");
    (async () => {
      if (req.method !== "GET") return reply(405, { error: "GET only" });
      if (url.pathname === "/list") {
        const limit = Math.max(1, Math.min(Number(url.searchParams.get("limit")) || DEFAULT_LIMIT, DEFAULT_LIMIT));
        return reply(200, await list(p, limit));
      }
      if (url.pathname !== "/file") return reply(404, { error: "no such route" });
      const real = await resolve(p);
      const st = await stat(real);
      if (!st.isFile()) throw new Refused(`${p}: not a regular file`);
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(st.size) });
      createReadStream(real)
        .on("error", () => res.destroy())
        .pipe(res);
    })().catch((err) => {
      if (res.headersSent) return res.destroy();
      if (err instanceof Refused) return reply(err.status, { error: err.message });
      reply(500, { error: `${p}: ${String(err)}` });
    });
  };
}

/**
 * Starts the service on loopback (port 0: any free one) and answers its origin.
 * @param {{ root: string, secret: string, host?: string, port?: number }} opts
 */
export async function startLocalFiles({ root, secret, host = "127.0.0.1", port = 0 }) {
  const server = http.createServer(await createLocalFilesHandler({ root, secret }));
  await new Promise((ok, fail) => server.once("error", fail).listen(port, host, () => ok(undefined)));
  const addr = /** @type {import("node:net").AddressInfo} */ (server.address());
  return { server, origin: `http://${host.includes(":") ? `[${host}]` : host}:${addr.port}` };
}
