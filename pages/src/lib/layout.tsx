import type { ComponentChildren } from "preact";
import { render } from "preact";
import { api } from "./api";
import { boot } from "./boot";

async function signOut() {
  try {
    await api("/api/rest-auth/logout/", { method: "POST" });
  } finally {
    location.assign("/login");
  }
}

/** The frame of every signed-in page: the bar with where you can go and who you are. */
export function Layout(props: { title?: ComponentChildren; actions?: ComponentChildren; children: ComponentChildren }) {
  const { user } = boot();
  return (
    <>
      <header class="topbar">
        <a class="brand" href="/datasets">
          Remo
        </a>
        <nav>
          <a href="/datasets">Datasets</a>
          <a href="/datasets/filtered/images">Search</a>
          <a href="/docs">API</a>
        </nav>
        <span class="spacer" />
        {user && (
          <span class="who">
            <span data-testid="user-name">{user.name || user.email}</span>
            <button type="button" class="link" onClick={signOut}>
              Sign out
            </button>
          </span>
        )}
      </header>
      <main>
        {(props.title || props.actions) && (
          <div class="page-head">
            {props.title && <h1>{props.title}</h1>}
            <span class="spacer" />
            {props.actions}
          </div>
        )}
        {props.children}
      </main>
    </>
  );
}

/** Renders a page's root component into #app. */
export function mount(node: ComponentChildren) {
  const el = document.getElementById("app");
  if (el) render(node, el);
}

/** The standard states of a view that loads: a spinner line, an error box (with the API's message), or the content. */
export function Loading(props: { what?: string }) {
  return (
    <p class="muted" role="status">
      Loading{props.what ? ` ${props.what}` : ""}…
    </p>
  );
}

export function ErrorBox(props: { error: unknown }) {
  const e = props.error as { status?: number; message?: string };
  return (
    <div class="error" role="alert">
      {e?.status === 404 ? "Not found: it does not exist, or it is not yours to see." : (e?.message ?? String(e))}
    </div>
  );
}

/** `12.3 MB` from bytes. */
export function humanBytes(n: number): string {
  if (!Number.isFinite(n) || n < 1024) return `${n | 0} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}
