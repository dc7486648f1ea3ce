/**
 * Outbound URL policy for ingestion: http(s) only, and no host that is (or resolves to) loopback, private,
 * link-local, CGNAT, multicast or a cloud metadata endpoint, so a user cannot make the Worker read internal
 * services. Redirects are followed by hand so every hop is checked again.
 */

export class UrlRefused extends Error {}

const BLOCKED_NAMES = [
  /^localhost$/i,
  /\.localhost$/i,
  /\.internal$/i,
  /\.local$/i,
  /^metadata$/i,
  /^metadata\.google\.internal$/i,
];

function parseIpv4(host: string): number[] | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  return parts.every((p) => p <= 255) ? parts : null;
}

export function isPrivateIpv4(p: number[]): boolean {
  const [a, b] = p;
  return (
    a === 0 ||
    a === 10 ||
    a === 127 ||
    (a === 100 && b >= 64 && b <= 127) ||
    (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 192 && b === 0 && p[2] === 0) ||
    (a === 198 && (b === 18 || b === 19)) ||
    a >= 224
  );
}

/** Expands an IPv6 literal (no brackets) to 8 16-bit groups; null if it is not one. */
function parseIpv6(host: string): number[] | null {
  if (!host.includes(":")) return null;
  let h = host.toLowerCase();
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  if (v4) {
    const p = parseIpv4(v4[1]);
    if (!p) return null;
    h = h.slice(0, -v4[1].length) + `${((p[0] << 8) | p[1]).toString(16)}:${((p[2] << 8) | p[3]).toString(16)}`;
  }
  const halves = h.split("::");
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(":") : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(":") : [];
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  const groups = [...head, ...Array(Math.max(fill, 0)).fill("0"), ...tail].map((g) => parseInt(g, 16));
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : null;
}

export function isPrivateIpv6(g: number[]): boolean {
  if (g.slice(0, 7).every((x) => x === 0) && (g[7] === 0 || g[7] === 1)) return true; // :: and ::1
  if ((g[0] & 0xfe00) === 0xfc00) return true; // fc00::/7 unique local
  if ((g[0] & 0xffc0) === 0xfe80) return true; // fe80::/10 link-local
  if ((g[0] & 0xff00) === 0xff00) return true; // multicast
  // IPv4-mapped (::ffff:a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) carry an IPv4 address that must be checked too.
  const mapped = g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff;
  const nat64 = g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0);
  if (mapped || nat64) return isPrivateIpv4([g[6] >> 8, g[6] & 0xff, g[7] >> 8, g[7] & 0xff]);
  return false;
}

/** True if `ip` (v4 or v6 literal) is not a public unicast address. */
export function isPrivateAddress(ip: string): boolean {
  const v4 = parseIpv4(ip);
  if (v4) return isPrivateIpv4(v4);
  const v6 = parseIpv6(ip.replace(/^\[|\]$/g, ""));
  if (v6) return isPrivateIpv6(v6);
  return false;
}

export type Resolver = (host: string) => Promise<string[]>;

/** DNS over HTTPS (Workers have no resolver API). A lookup that fails resolves to nothing: the fetch decides. */
export const dohResolver: Resolver = async (host) => {
  const out: string[] = [];
  for (const type of ["A", "AAAA"]) {
    try {
      const r = await fetch(`https://cloudflare-dns.com/dns-query?name=${encodeURIComponent(host)}&type=${type}`, {
        headers: { accept: "application/dns-json" },
        signal: AbortSignal.timeout(3000),
      });
      if (!r.ok) continue;
      const body = (await r.json()) as { Answer?: { type: number; data: string }[] };
      for (const a of body.Answer ?? []) if (a.type === 1 || a.type === 28) out.push(a.data);
    } catch {
      // unresolvable here: nothing to check
    }
  }
  return out;
};

/** Throws UrlRefused if the URL may not be fetched. */
export async function checkUrl(raw: string, opts: { allowPrivate: boolean; resolve?: Resolver }): Promise<URL> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UrlRefused("invalid URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new UrlRefused(`unsupported scheme ${url.protocol}`);
  if (url.username || url.password) throw new UrlRefused("credentials in URLs are not allowed");
  if (opts.allowPrivate) return url;
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (BLOCKED_NAMES.some((re) => re.test(host))) throw new UrlRefused(`host ${host} is not allowed`);
  if (parseIpv4(host) || parseIpv6(host)) {
    if (isPrivateAddress(host)) throw new UrlRefused(`address ${host} is private`);
    return url;
  }
  const addrs = await (opts.resolve ?? dohResolver)(host);
  const bad = addrs.find(isPrivateAddress);
  if (bad) throw new UrlRefused(`host ${host} resolves to private address ${bad}`);
  return url;
}

/** fetch with the policy applied to the URL and to every redirect hop. */
export async function safeFetch(
  raw: string,
  opts: { allowPrivate: boolean; resolve?: Resolver; timeoutMs: number; fetcher?: typeof fetch; maxRedirects?: number },
): Promise<Response> {
  const fetcher = opts.fetcher ?? fetch;
  let current = raw;
  for (let hop = 0; hop <= (opts.maxRedirects ?? 5); hop++) {
    const url = await checkUrl(current, opts);
    const res = await fetcher(url.toString(), { redirect: "manual", signal: AbortSignal.timeout(opts.timeoutMs) });
    if (res.status >= 300 && res.status < 400 && res.headers.get("location")) {
      await res.body?.cancel();
      current = new URL(res.headers.get("location")!, url).toString();
      continue;
    }
    return res;
  }
  throw new UrlRefused("too many redirects");
}
