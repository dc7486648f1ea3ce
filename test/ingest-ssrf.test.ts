import { describe, expect, it } from "vitest";
import { checkUrl, isPrivateAddress, safeFetch, UrlRefused } from "../src/lib/ssrf";

const publicDns = async () => ["93.184.216.34"];

describe("URL policy for ingestion", () => {
  it("classifies addresses", () => {
    for (const ip of [
      "127.0.0.1",
      "10.1.2.3",
      "172.16.0.1",
      "172.31.255.255",
      "192.168.1.1",
      "169.254.169.254",
      "100.64.0.1",
      "0.0.0.0",
      "224.0.0.1",
      "::1",
      "::",
      "fe80::1",
      "fd12::1",
      "::ffff:127.0.0.1",
      "::ffff:7f00:1",
      "64:ff9b::a00:1",
    ])
      expect(isPrivateAddress(ip), ip).toBe(true);
    for (const ip of ["8.8.8.8", "93.184.216.34", "172.32.0.1", "2606:4700::1111", "::ffff:8.8.8.8"])
      expect(isPrivateAddress(ip), ip).toBe(false);
  });

  it("refuses literals, odd IPv4 spellings, blocked names, hosts resolving privately, other schemes and credentials", async () => {
    const refused = async (u: string, resolve = publicDns) => {
      await expect(checkUrl(u, { allowPrivate: false, resolve }), u).rejects.toThrow(UrlRefused);
    };
    await refused("http://127.0.0.1/");
    await refused("http://2130706433/"); // 127.0.0.1 as one decimal number
    await refused("http://0x7f.1/");
    await refused("http://[::ffff:169.254.169.254]/");
    await refused("http://metadata.google.internal/computeMetadata/v1/");
    await refused("http://printer.local/");
    await refused("http://evil.example/", async () => ["93.184.216.34", "10.0.0.1"]);
    await refused("file:///etc/passwd");
    await refused("gopher://example.com/");
    await refused("http://user:pw@example.com/");
    await refused("not a url");
    await expect(
      checkUrl("https://example.com/a.jpg", { allowPrivate: false, resolve: publicDns }),
    ).resolves.toBeInstanceOf(URL);
  });

  it("INGEST_ALLOW_PRIVATE_NETWORKS lets loopback through (local testing), never other schemes", async () => {
    await expect(checkUrl("http://127.0.0.1:8080/a.jpg", { allowPrivate: true })).resolves.toBeInstanceOf(URL);
    await expect(checkUrl("file:///x", { allowPrivate: true })).rejects.toThrow(UrlRefused);
  });

  it("checks every redirect hop", async () => {
    const hops: string[] = [];
    const fetcher = (async (u: string) => {
      hops.push(u);
      return new Response(null, { status: 302, headers: { location: "http://169.254.169.254/latest/" } });
    }) as unknown as typeof fetch;
    await expect(
      safeFetch("https://example.com/a.jpg", { allowPrivate: false, resolve: publicDns, timeoutMs: 1000, fetcher }),
    ).rejects.toThrow(/169.254.169.254 is private/);
    expect(hops).toEqual(["https://example.com/a.jpg"]);
  });
});
