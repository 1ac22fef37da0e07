/**
 * What the page's main thread did in its long tasks, by Chromium's own trace events (CDP
 * Tracing): script, style recalculation, layout, paint, image decoding, garbage collection...
 * The CPU profile (cpu-profile.ts) names the functions; the trace splits the "(program)" time a
 * profile cannot see into (style and layout work, parsing, the compositor's share).
 */
import type { CDPSession } from 'playwright-core';

interface TraceEvent { name: string; ph: string; ts: number; dur?: number; pid: number; tid: number; args?: { name?: string } }

export interface TracedTask {
  /** ms from the trace's first task. */
  start: number;
  ms: number;
  /** Self time per trace event name, largest first (ms). */
  parts: [string, number][];
}

const CATEGORIES = ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'v8', 'v8.execute', 'blink', 'loading'].join(',');

export async function startTrace(cdp: CDPSession): Promise<() => Promise<TraceEvent[]>> {
  const events: TraceEvent[] = [];
  cdp.on('Tracing.dataCollected', (e) => void events.push(...(e.value as unknown as TraceEvent[])));
  await cdp.send('Tracing.start', { categories: CATEGORIES, transferMode: 'ReportEvents' });
  return async () => {
    const done = new Promise<void>((resolve) => cdp.once('Tracing.tracingComplete', () => resolve()));
    await cdp.send('Tracing.end');
    await done;
    return events;
  };
}

/** The renderer main thread's tasks of at least `minMs`, longest first, each split by event name. */
export function longTasks(events: TraceEvent[], minMs = 50, top = 10): TracedTask[] {
  const main = events.filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain');
  const threads = new Set(main.map((e) => `${e.pid}:${e.tid}`));
  const onMain = events.filter((e) => e.ph === 'X' && e.dur !== undefined && threads.has(`${e.pid}:${e.tid}`)).sort((a, b) => a.ts - b.ts || b.dur! - a.dur!);
  const tasks = onMain.filter((e) => (e.name === 'RunTask' || e.name === 'ThreadControllerImpl::RunTask') && e.dur! >= minMs * 1000);
  const t0 = onMain.find((e) => e.name === 'RunTask' || e.name === 'ThreadControllerImpl::RunTask')?.ts ?? 0;
  const out: TracedTask[] = [];
  let i = 0;
  for (const task of tasks) {
    const end = task.ts + task.dur!;
    while (i < onMain.length && onMain[i]!.ts < task.ts) i++;
    // Self time: each event's duration less its direct children's, by a stack of open events.
    const self = new Map<string, number>();
    const stack: { e: TraceEvent; end: number; child: number }[] = [];
    const pop = () => {
      const s = stack.pop()!;
      self.set(s.e.name, (self.get(s.e.name) ?? 0) + (s.e.dur! - s.child) / 1000);
      if (stack.length) stack[stack.length - 1]!.child += s.e.dur!;
    };
    for (let j = i; j < onMain.length && onMain[j]!.ts < end; j++) {
      const e = onMain[j]!;
      if (e === task || e.ts + e.dur! > end) continue;
      while (stack.length && stack[stack.length - 1]!.end <= e.ts) pop();
      stack.push({ e, end: e.ts + e.dur!, child: 0 });
    }
    while (stack.length) pop();
    // Top-level children's durations were not subtracted from the task: what is left is the task's own.
    const topLevel = sumTopLevel(onMain, i, task);
    self.set('(task, untraced)', (task.dur! - topLevel) / 1000);
    out.push({ start: Math.round((task.ts - t0) / 1000), ms: Math.round(task.dur! / 1000), parts: [...self].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, v]) => [k, Math.round(v * 10) / 10]) });
  }
  return out.sort((a, b) => b.ms - a.ms);
}

function sumTopLevel(onMain: TraceEvent[], from: number, task: TraceEvent): number {
  const end = task.ts + task.dur!;
  let sum = 0;
  let until = -1;
  for (let j = from; j < onMain.length && onMain[j]!.ts < end; j++) {
    const e = onMain[j]!;
    if (e === task || e.ts + e.dur! > end || e.ts < until) continue;
    sum += e.dur!;
    until = e.ts + e.dur!;
  }
  return sum;
}
