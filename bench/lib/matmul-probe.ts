/**
 * Peak probe: one MatMul / Gemm node with a constant (prepackable) weight, on the same CPU
 * provider and session options the engine uses, timed best-of-N. This is what onnxruntime's
 * GEMM reaches on this machine: the ceiling for the ViT and SAE graphs, which are ~95% GEMM.
 */
import ort from 'onnxruntime-node';
import { GraphBuilder } from '../../main/engine/onnx/graph-builder.js';
import { isClean, median, since, snapshot } from './cpu.js';

export interface ProbeResult {
  readonly name: string;
  readonly shape: string;
  readonly gflop: number;
  readonly bestMs: number;
  readonly medianMs: number;
  readonly bestGflops: number;
  readonly medianGflops: number;
  /** Repetitions during which other processes stayed quiet (best / median are over these when any). */
  readonly clean: number;
  readonly reps: number;
}

function randomArray(n: number, seed: number): number[] {
  // xorshift: deterministic, centred, small values (no denormals, no overflow)
  let s = seed >>> 0 || 1;
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 4294967296 - 0.5) * 0.1;
  }
  return out;
}

/** y = x [m, k] @ W, W a constant [k, n] (MatMul) or [n, k] with transB (Gemm, as the ViT's Linears). */
function probeModel(m: number, k: number, n: number, gemm: boolean): Uint8Array {
  const g = new GraphBuilder('matmul_probe');
  const x = g.input('x', 'float32', [m, k]);
  if (gemm) {
    const w = g.constFloat(randomArray(n * k, 7), [n, k]);
    const b = g.constFloat(randomArray(n, 11), [n]);
    g.op('Gemm', [x, w, b], { transB: { i: 1 } }, 'y');
  } else {
    g.op('MatMul', [x, g.constFloat(randomArray(k * n, 7), [k, n])], {}, 'y');
  }
  g.output('y', 'float32', [m, n]);
  return g.encode();
}

export async function matmulProbe(
  name: string,
  m: number, k: number, n: number,
  opts: { gemm: boolean; reps: number; threads?: number },
): Promise<ProbeResult> {
  const session = await ort.InferenceSession.create(probeModel(m, k, n, opts.gemm), {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
    ...(opts.threads ? { intraOpNumThreads: opts.threads } : {}),
  });
  const x = new ort.Tensor('float32', Float32Array.from(randomArray(m * k, 3)), [m, k]);
  await session.run({ x }); // warm-up
  const all: number[] = [];
  const clean: number[] = [];
  // noisy repetitions (other processes busy) are repeated, up to 3 x reps
  while (clean.length < opts.reps && all.length < 3 * opts.reps) {
    const s = snapshot();
    await session.run({ x });
    const c = since(s);
    all.push(c.wallMs);
    if (isClean(c)) clean.push(c.wallMs);
  }
  await session.release();
  const times = clean.length ? clean : all;
  const gflop = (2 * m * k * n) / 1e9;
  const best = Math.min(...times);
  const med = median(times);
  return {
    name,
    shape: `[${m},${k}]x[${k},${n}]${opts.gemm ? ' (Gemm transB + bias)' : ''}`,
    gflop,
    bestMs: best,
    medianMs: med,
    bestGflops: gflop / (best / 1000),
    medianGflops: gflop / (med / 1000),
    clean: clean.length,
    reps: all.length,
  };
}
