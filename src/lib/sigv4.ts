import { AwsClient } from "aws4fetch";

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  region?: string;
}

/**
 * A presigned S3 URL (SigV4, query-string signature) through aws4fetch. The payload is UNSIGNED-PAYLOAD, as S3
 * and R2 expect for presigned URLs; `datetime` (YYYYMMDD'T'HHMMSS'Z') is fixed only by tests.
 */
export async function presignUrl(
  creds: S3Credentials,
  url: string,
  opts: { method: "GET" | "PUT"; expiresSeconds: number; datetime?: string; headers?: Record<string, string> },
): Promise<string> {
  const client = new AwsClient({
    accessKeyId: creds.accessKeyId,
    secretAccessKey: creds.secretAccessKey,
    service: "s3",
    region: creds.region ?? "auto",
  });
  const u = new URL(url);
  u.searchParams.set("X-Amz-Expires", String(opts.expiresSeconds));
  const signed = await client.sign(u.toString(), {
    method: opts.method,
    headers: opts.headers,
    aws: { signQuery: true, ...(opts.datetime ? { datetime: opts.datetime } : {}) },
  });
  return signed.url;
}

/** A presigned PUT into the deployment's R2 bucket through its S3 endpoint, or null when no credentials are set. */
export async function presignR2Put(
  env: { R2_ACCOUNT_ID?: string; R2_ACCESS_KEY_ID?: string; R2_SECRET_ACCESS_KEY?: string; R2_BUCKET_NAME?: string },
  key: string,
  expiresSeconds = 3600,
): Promise<string | null> {
  if (!env.R2_ACCOUNT_ID || !env.R2_ACCESS_KEY_ID || !env.R2_SECRET_ACCESS_KEY || !env.R2_BUCKET_NAME) return null;
  const path = key.split("/").map(encodeURIComponent).join("/");
  const url = `https://${env.R2_ACCOUNT_ID}.r2.cloudflarestorage.com/${env.R2_BUCKET_NAME}/${path}`;
  return presignUrl(
    { accessKeyId: env.R2_ACCESS_KEY_ID, secretAccessKey: env.R2_SECRET_ACCESS_KEY, region: "auto" },
    url,
    {
      method: "PUT",
      expiresSeconds,
    },
  );
}
