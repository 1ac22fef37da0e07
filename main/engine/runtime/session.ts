import ort from 'onnxruntime-node';
import { GraphLoadError, UserFacingError, errorMessage } from '../errors.js';
import type { BuiltGraph } from '../clip/vision-graph.js';
import { materializeGraph } from './graph-cache.js';
import { candidateProviders, missingPrerequisite, probeProvider, providerOption, type ProviderChoice, type ProviderName } from './providers.js';

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
 * A graph that cannot load on a provider that does start (damaged or unusable weights) is a
 * GraphLoadError naming the weight files, so the user looks at the files, not at the drivers.
 */
export async function openSession(graph: BuiltGraph, opts: SessionOptions): Promise<OpenedSession> {
  const { modelPath, externalData } = await materializeGraph(graph, opts.cacheDir);
  const order = opts.provider === 'auto' ? candidateProviders() : [opts.provider];
  const skipped: { provider: ProviderName; reason: string }[] = [];
  const graphFailures: { provider: ProviderName; reason: string }[] = [];
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
        // The ViT and the SAE are two sessions run back to back on the same cores: a pool that
        // keeps spinning after its Run() takes the cores the next session's Run() needs
        // (measured: ViT + SAE ~10% faster per image on 2 cores). Spinning within a Run stays.
        extra: { session: { force_spinning_stop: '1' } },
        ...(externalData.length ? { externalData } : {}),
      });
      return { session, provider, skipped };
    } catch (e) {
      const reason = ortReason(errorMessage(e));
      // onnxruntime throws alike when a provider cannot start and when the model cannot load: a
      // provider that runs the one-node probe model is not what failed.
      if ((await probeProvider(provider)).available) {
        graphFailures.push({ provider, reason });
        skipped.push({ provider, reason: `starts, but cannot load this graph: ${reason}` });
      } else {
        skipped.push({ provider, reason });
      }
    }
  }
  if (graphFailures.length > 0) {
    const files = graph.files.flatMap((f) => (f.kind === 'file' ? [f.path] : []));
    const from = files.length ? ` built from ${files.join(', ')}` : '';
    const why = graphFailures.map((f) => `${f.provider}: ${f.reason}`).join('; ');
    throw new GraphLoadError(`the inference graph${from} cannot be loaded (${why}); the execution provider starts, so the weight files may be damaged or unusable`);
  }
  const why = skipped.map((s) => `${s.provider}: ${s.reason}`).join('; ');
  throw new UserFacingError(opts.provider === 'auto' ? `no execution provider could start (${why})` : `the ${opts.provider} execution provider cannot start here (${why})`);
}

/**
 * onnxruntime's first line without its source locations:
 * "... [ONNXRuntimeError] : 1 : FAIL : tensorprotoutils.cc:1763 GetExtData... What" -> "What".
 */
export function ortReason(message: string): string {
  const line = message.split('\n')[0] ?? '';
  const m = /\[ONNXRuntimeError\] : \d+ : \w+ : (?:\S+\.cc:\d+ \S+ )?(.+)$/.exec(line);
  return (m?.[1] ?? line).trim();
}
