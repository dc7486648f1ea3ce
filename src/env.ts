import type { JobMessage } from "./jobs/messages";
import type { ContentsPager } from "./services/search/contents";

/** The Worker's bindings and vars, as wrangler.toml declares them. */
export interface Env {
  DB: D1Database;
  BUCKET: R2Bucket;
  CACHE: KVNamespace;
  INGEST: Queue<JobMessage>;
  EXPORTS: Queue<JobMessage>;
  /** One SQLite-backed Durable Object per dataset (`idFromName(String(datasetId))`), issue 13. */
  DATASETS: DurableObjectNamespace<import("./dataset-store/store").DatasetStore>;
  /**
   * "on": requests about a dataset whose registry row says `store = 'object'` are served by its DatasetStore
   * (src/dataset-store/forward.ts). Off by default: it costs one or two D1 reads per dataset request.
   */
  DATASET_STORE_ROUTING?: string;
  /**
   * "object": a new dataset is created in its own DatasetStore (needs DATASET_STORE_ROUTING "on"); anything else
   * (the committed default "d1") creates it in D1, to be switched over later (README, "Per-dataset Durable Objects").
   */
  DATASET_STORE_NEW?: string;
  /**
   * Seconds D1 keeps a switched dataset's old rows before the `prune-dataset-d1` job drops them (30 to 43200; 300
   * when unset). src/dataset-store/prune-d1.ts.
   */
  DATASET_STORE_PRUNE_AFTER_S?: string;
  /** Set only inside a DatasetStore, to the dataset it serves: the app there must not forward again. */
  DATASET_STORE_ID?: string;
  /** Set only inside a DatasetStore: finds contents pages without `OFFSET` (src/dataset-store/contents-pages.ts). */
  CONTENTS_PAGER?: ContentsPager;
  /** "true" lets anyone create an account through POST /api/signup/. */
  ALLOW_SIGNUP?: string;
  /** "true" lets URL ingestion reach loopback/private addresses (local testing only). */
  INGEST_ALLOW_PRIVATE_NETWORKS?: string;
  /**
   * The local file service `npm start` runs on loopback (scripts/local-files.mjs), and the secret that lets only this
   * Worker use it. Both set: absolute `local_files` paths are read from the user's disk. Unset when deployed.
   */
  LOCAL_FILES_URL?: string;
  LOCAL_FILES_SECRET?: string;
  /** HMAC key for signed image URLs and download links. */
  SIGNING_SECRET: string;
  /** The built pages (public/, Workers static assets): /assets/... is served before the Worker runs. */
  ASSETS?: Fetcher;
  /** Optional R2 S3-API credentials for presigned direct uploads. */
  R2_ACCOUNT_ID?: string;
  R2_ACCESS_KEY_ID?: string;
  R2_SECRET_ACCESS_KEY?: string;
  R2_BUCKET_NAME?: string;
}

export interface AuthUser {
  id: number;
  email: string;
  name: string;
  isSuperuser: boolean;
  keyId: number;
}

/** Per-request values on `c.var`. */
export interface Variables {
  requestId: string;
  db: import("./db/client").Db;
  user: AuthUser;
  /** How the key reached us: logout clears the session cookie only when the cookie was what signed the request. */
  authVia: "header" | "cookie";
}

export type AppEnv = { Bindings: Env; Variables: Variables };
