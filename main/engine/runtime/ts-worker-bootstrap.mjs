// Runs a TypeScript worker from sources (tests, `tsx` dev runs); built code starts the .js directly.
// Node 20 does not apply `--import tsx` to worker threads, so the loader is registered here. Child
// processes (thumbnail-process.ts) start this file too, with the entry as their first argument.
import { register } from 'tsx/esm/api';
import { workerData } from 'node:worker_threads';

register();
await import(workerData?.tsEntry ?? process.argv[2]);
