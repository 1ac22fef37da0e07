/**
 * Attributes a page's long main-thread tasks to functions, from a V8 CPU profile taken through
 * CDP (Profiler.start / Profiler.stop). A "busy span" is a run of consecutive samples that are
 * not `(idle)`: a span of 50 ms or more is a long task (or a few back to back, which block input
 * just the same). Each span lists the functions that took its time, by self time and inclusive.
 */
import type { CDPSession } from 'playwright-core';

interface CallFrame { functionName: string; url: string; lineNumber: number; columnNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
export interface CpuProfile { nodes: ProfileNode[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] }

export interface Span {
  /** ms from the profile's start. */
  start: number;
  ms: number;
  self: [string, number][];
  inclusive: [string, number][];
  /** Inclusive time per source module (a package, or a file of the app), with a resolver. */
  modules: [string, number][];
  /** Inclusive time per function of the app's own sources, with a resolver. */
  app: [string, number][];
}

/** Maps a bundle position (0-based line and column) to its source file. */
export type Resolver = (line: number, column: number) => string | null;

/** `react-dom` for node_modules/react-dom/..., `views/Image.tsx` for the app's files. */
export function moduleName(source: string): string {
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(source);
  if (nm) return nm[1]!;
  return source.replace(/^(\.\.\/)+/, '').replace(/^renderer\/src\//, '').replace(/^src\//, '');
}

export async function startProfile(cdp: CDPSession, intervalUs = 250): Promise<void> {
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: intervalUs });
  await cdp.send('Profiler.start');
}

export async function stopProfile(cdp: CDPSession): Promise<CpuProfile> {
  const { profile } = await cdp.send('Profiler.stop');
  return profile as unknown as CpuProfile;
}

/** `name (file:line)`, the file without its origin; a frame of the page's own bundle is marked by its line. */
function frameName(f: CallFrame): string {
  const name = f.functionName || '(anonymous)';
  if (!f.url) return name;
  const file = f.url.replace(/^.*\//, '').replace(/\?.*$/, '');
  return `${name} (${file}:${f.lineNumber + 1})`;
}

const GENERIC = new Set(['(root)', '(program)', '(garbage collector)', '(idle)']);

/** The busy spans of at least `minMs`, longest first, with their top `top` functions. */
export function longSpans(profile: CpuProfile, minMs = 50, top = 14, resolve?: Resolver): Span[] {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const moduleOf = (f: CallFrame): string | null => {
    if (!resolve || !f.url.includes('/assets/')) return null;
    const src = resolve(f.lineNumber, f.columnNumber);
    return src ? moduleName(src) : null;
  };
  const modCache = new Map<number, string[]>();
  const modules = (id: number): string[] => {
    let m = modCache.get(id);
    if (!m) {
      m = [];
      for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
        const mod = moduleOf(byId.get(cur)!.callFrame);
        if (mod) m.push(mod);
      }
      modCache.set(id, m);
    }
    return m;
  };
  const appCache = new Map<number, string[]>();
  const appFrames = (id: number): string[] => {
    let a = appCache.get(id);
    if (!a) {
      a = [];
      for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
        const f = byId.get(cur)!.callFrame;
        const mod = moduleOf(f);
        // A package's name has no file extension; the app's own files do.
        if (mod && /\.(tsx?|jsx?)$/.test(mod)) a.push(`${f.functionName || '(anonymous)'} [${mod}]`);
      }
      appCache.set(id, a);
    }
    return a;
  };
  const stackCache = new Map<number, string[]>();
  const stack = (id: number): string[] => {
    let s = stackCache.get(id);
    if (s) return s;
    s = [];
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) s.push(frameName(byId.get(cur)!.callFrame));
    stackCache.set(id, s);
    return s;
  };
  const spans: Span[] = [];
  let t = 0;
  let open: { start: number; end: number; samples: [number, number][] } | null = null;
  const close = () => {
    if (open && open.end - open.start >= minMs) {
      const self = new Map<string, number>();
      const incl = new Map<string, number>();
      const mods = new Map<string, number>();
      const app = new Map<string, number>();
      const add = (m: Map<string, number>, k: string, dt: number) => m.set(k, (m.get(k) ?? 0) + dt);
      for (const [id, dt] of open.samples) {
        const s = stack(id);
        add(self, s[0]!, dt);
        for (const f of new Set(s)) if (!GENERIC.has(f)) add(incl, f, dt);
        for (const m of new Set(modules(id))) add(mods, m, dt);
        for (const f of new Set(appFrames(id))) add(app, f, dt);
      }
      const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, v]) => [k, Math.round(v * 10) / 10] as [string, number]);
      spans.push({ start: Math.round(open.start), ms: Math.round(open.end - open.start), self: sorted(self), inclusive: sorted(incl), modules: sorted(mods), app: sorted(app) });
    }
    open = null;
  };
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    t += dt;
    const id = profile.samples[i]!;
    const idle = byId.get(id)!.callFrame.functionName === '(idle)';
    if (idle) {
      close();
      continue;
    }
    if (!open) open = { start: t - dt, end: t, samples: [] };
    open.end = t;
    open.samples.push([id, dt]);
  }
  close();
  return spans.sort((a, b) => b.ms - a.ms);
}

/** Where a generated line and column came from, by a source map (v3), decoded once. */
export function sourceMapResolver(map: { sources: string[]; mappings: string }): (line: number, column: number) => string | null {
  const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const lines: [number, number][][] = [];
  let src = 0;
  for (const text of map.mappings.split(';')) {
    const segs: [number, number][] = [];
    let col = 0;
    for (const seg of text.split(',')) {
      if (!seg) continue;
      const vals: number[] = [];
      let shift = 0;
      let value = 0;
      for (const ch of seg) {
        const d = B64.indexOf(ch);
        value += (d & 31) << shift;
        if (d & 32) shift += 5;
        else {
          vals.push(value & 1 ? -(value >>> 1) : value >>> 1);
          value = 0;
          shift = 0;
        }
      }
      col += vals[0]!;
      if (vals.length > 1) src += vals[1]!;
      segs.push([col, src]);
    }
    lines.push(segs);
  }
  return (line, column) => {
    const segs = lines[line];
    if (!segs?.length) return null;
    let best = segs[0]!;
    for (const s of segs) if (s[0] <= column) best = s;
    return map.sources[best[1]] ?? null;
  };
}
