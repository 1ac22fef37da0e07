/**
 * What closing the last window does to a running indexing job. By default the app quits and the
 * engine pauses the job after its batch (the next start resumes it). With the user's "keep
 * indexing in the background" setting, the app stays (without a window) while the job runs and
 * quits when it ends. Kept free of Electron so that the rule is tested on a real engine host.
 */
import { AppSettingsSchema, IndexStatusSchema, type ApiEvent, type ApiMethod, type ApiResult } from '../../common/contract/index.js';

/** What this needs of the engine (main/host/engine-client.ts's EngineClient). */
export interface BackgroundEngine {
  call(method: ApiMethod, payload: unknown): Promise<ApiResult<unknown>>;
  onEvent(fn: (event: ApiEvent, payload: unknown) => void): () => void;
}

export type CloseOutcome = 'quit' | 'background';

const isRunning = (status: unknown): boolean => IndexStatusSchema.safeParse(status).data?.job?.state === 'running';

/**
 * Decides, after the last window closed, whether to quit now (`quit` is called at once) or to
 * let the running job finish (`quit` is called once no job runs any more; the caller checks that
 * no window was opened meanwhile).
 */
export async function afterLastWindowClosed(engine: BackgroundEngine, quit: () => void): Promise<CloseOutcome> {
  const settings = await engine.call('settings.get', undefined);
  const keep = settings.ok && AppSettingsSchema.safeParse(settings.value).data?.keepIndexingInBackground === true;
  if (!keep) {
    quit();
    return 'quit';
  }
  // Listen before asking, so that a job ending in between is not missed.
  let ended!: () => void;
  const done = new Promise<void>((resolve) => (ended = resolve));
  const stop = engine.onEvent((event, payload) => {
    if (event === 'index.status' && !isRunning(payload)) ended();
  });
  const status = await engine.call('index.status', undefined);
  if (!status.ok || !isRunning(status.value)) ended();
  void done.then(() => {
    stop();
    quit();
  });
  return status.ok && isRunning(status.value) ? 'background' : 'quit';
}
