import { useState } from "preact/hooks";
import { api, HttpError } from "../lib/api";
import { boot } from "../lib/boot";
import { mount } from "../lib/layout";

/** Where to go after signing in: only a path on this server (never another host: an open redirect). */
function nextPath(): string {
  const next = new URLSearchParams(location.search).get("next") || "/datasets";
  return next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/\\") ? next : "/datasets";
}

function Login() {
  const { allowSignup } = boot();
  const [mode, setMode] = useState<"login" | "signup">("login");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const body: Record<string, string> = {
      email: String(form.get("email") ?? ""),
      password: String(form.get("password") ?? ""),
      session: "cookie",
    };
    if (mode === "signup") body.name = String(form.get("name") ?? "");
    setBusy(true);
    setError(null);
    try {
      await api(mode === "login" ? "/api/rest-auth/login/" : "/api/signup/", { body });
      location.assign(nextPath());
    } catch (err) {
      setError(
        err instanceof HttpError && err.status === 400 && mode === "login"
          ? "Wrong email or password."
          : String((err as Error).message),
      );
      setBusy(false);
    }
  }

  return (
    <div class="login panel">
      <h1>{mode === "login" ? "Sign in to Remo" : "Create an account"}</h1>
      <form onSubmit={submit}>
        {mode === "signup" && (
          <label>
            Name
            <input name="name" autocomplete="name" required />
          </label>
        )}
        <label>
          Email
          <input name="email" type="email" autocomplete="username" required autofocus />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autocomplete={mode === "login" ? "current-password" : "new-password"}
            required
          />
        </label>
        {error && (
          <div class="error" role="alert">
            {error}
          </div>
        )}
        <button class="primary" type="submit" disabled={busy}>
          {mode === "login" ? "Sign in" : "Sign up"}
        </button>
      </form>
      {allowSignup && (
        <p class="muted">
          {mode === "login" ? "No account yet? " : "Have an account? "}
          <button type="button" class="link" onClick={() => setMode(mode === "login" ? "signup" : "login")}>
            {mode === "login" ? "Sign up" : "Sign in"}
          </button>
        </p>
      )}
    </div>
  );
}

mount(<Login />);
