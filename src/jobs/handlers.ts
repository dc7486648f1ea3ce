import { failStoreCopy, failSwitchOver, fanOutStoreCopies, fanOutSwitchOvers, runStoreCopy, runSwitchOver } from "../dataset-store/migration";
import { runD1Prune } from "../dataset-store/prune-d1";
import { datasetStore } from "../dataset-store/store";
import type { Env } from "../env";
import type { JobType, MessageOf } from "./messages";
import { sweepBlobs } from "../services/images/blob-gc";
import { ingestHandlers } from "../services/ingest/handlers";
import { buildPyramid, failPyramid } from "../services/images/pyramid";
import { expireExports, failExportJob } from "../services/export/jobs";
import { runExportJob } from "../services/export/run";

export interface JobMeta {
  id: string;
  attempts: number;
  queue: string;
}

export interface JobHandler<T extends JobType> {
  run(msg: MessageOf<T>, env: Env, meta: JobMeta): Promise<void>;
  /** Called from the dead-letter queue once retries are exhausted: record the failure where the user sees it. */
  deadLetter?(msg: MessageOf<T>, env: Env, meta: JobMeta): Promise<void>;
}

export const handlers: { [T in JobType]: JobHandler<T> } = {
  export: {
    run: (msg, env) => runExportJob(env, msg.jobId),
    deadLetter: (msg, env) => failExportJob(env, msg.jobId),
  },
  "expire-exports": {
    run: async (_msg, env) => {
      await expireExports(env);
    },
  },
  ...ingestHandlers,
  "gc-blobs": {
    run: (_msg, env) => sweepBlobs(env),
  },
  "destroy-dataset-store": {
    run: (msg, env) => datasetStore(env, msg.datasetId).destroy(),
  },
  "copy-dataset-store": {
    run: (msg, env) => runStoreCopy(env, msg.datasetId),
    deadLetter: (msg, env) => failStoreCopy(env, msg.datasetId),
  },
  "switch-dataset-store": {
    run: (msg, env) => runSwitchOver(env, msg.datasetId, msg.fresh),
    deadLetter: (msg, env) => failSwitchOver(env, msg.datasetId),
  },
  "prune-dataset-d1": {
    run: async (msg, env) => {
      await runD1Prune(env, msg.datasetId);
    },
  },
  "switch-dataset-stores": {
    run: (msg, env) => fanOutSwitchOvers(env, msg.afterId),
  },
  "copy-dataset-stores": {
    run: (msg, env) => fanOutStoreCopies(env, msg.afterId),
  },
  "build-pyramid": {
    run: (msg, env) => buildPyramid(env, msg.imageId),
    deadLetter: (msg, env) => failPyramid(env, msg.imageId),
  },
};
