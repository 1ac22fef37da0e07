import ort from 'onnxruntime-node';
import { UserFacingError, errorMessage } from '../errors.js';
import type { BuiltGraph } from '../clip/vision-graph.js';
import { materializeGraph } from './graph-cache.js';
import { candidateProviders, missingPrerequisite, providerOption, type ProviderChoice, type ProviderName } from './providers.js';

export interface OpenedSession {
  readonly session: ort.InferenceSession;
  readonly provider: ProviderName;
  /** Providers tried before the one that runs, with why each could not start. */
  readonly skipped: readonly { provider: ProviderName; reason: string }[];
}

export interface SessionOptions {
  readonly provider: ProviderChoice;
  readonly cacheDir: string;
  readonly threads?: number;
}

/**
 * Creates a session on the requested provider. With `auto`, each candidate is tried in order
 * and cpu closes the list; a forced provider that cannot start is an error, not a silent fallback.
 */
export async function openSession(graph: BuiltGraph, opts: SessionOptions): Promise<OpenedSession> {
  const { modelPath, externalData } = await materializeGraph(graph, opts.cacheDir);
  const order = opts.provider === 'auto' ? candidateProviders() : [opts.provider];
  const skipped: { provider: ProviderName; reason: string }[] = [];
  for (const provider of order) {
    const missing = missingPrerequisite(provider);
    if (missing) {
      skipped.push({ provider, reason: missing });
      continue;
    }
    try {
      const session = await ort.InferenceSession.create(modelPath, {
        executionProviders: [providerOption(provider)],
        graphOptimizationLevel: 'all',
        logSeverityLevel: 3,
        ...(opts.threads ? { intraOpNumThreads: opts.threads } : {}),
        ...(externalData.length ? { externalData } : {}),
      });
      return { session, provider, skipped };
    } catch (e) {
      skipped.push({ provider, reason: errorMessage(e).split('\n')[0] ?? '' });
    }
  }
  const why = skipped.map((s) => `${s.provider}: ${s.reason}`).join('; ');
  throw new UserFacingError(opts.provider === 'auto' ? `no execution provider could start (${why})` : `the ${opts.provider} execution provider cannot start here (${why})`);
}
