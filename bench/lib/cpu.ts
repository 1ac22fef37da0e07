/**
 * Wall clock, this process's CPU time (all threads, workers included) and the machine's busy CPU
 * time from /proc/stat, so every measurement says how many cores it used and how many cores OTHER
 * processes took meanwhile: on a shared 2-core machine that is the first thing to read.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface CpuSnapshot {
  readonly wallMs: number;
  /** user + system of this process, ms. */
  readonly ownMs: number;
  /** busy time of the whole machine, ms (null where /proc/stat is unavailable). */
  readonly machineBusyMs: number | null;
}

export interface CpuSpan {
  readonly wallMs: number;
  /** Cores this process kept busy on average (all its threads). */
  readonly ownCores: number;
  /** Cores other processes kept busy on average; null off Linux. */
  readonly otherCores: number | null;
}

const USER_HZ = 100; // Linux exports /proc/stat in USER_HZ ticks, 100 on every mainstream build

function machineBusyMs(): number | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal guest guest_nice: busy = all but idle, iowait
    // (guest time is already counted in user).
    const busy = f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!;
    return (busy * 1000) / USER_HZ;
  } catch {
    return null;
  }
}

export function snapshot(): CpuSnapshot {
  const u = process.cpuUsage();
  return { wallMs: performance.now(), ownMs: (u.user + u.system) / 1000, machineBusyMs: machineBusyMs() };
}

export function since(a: CpuSnapshot, b: CpuSnapshot = snapshot()): CpuSpan {
  const wallMs = b.wallMs - a.wallMs;
  const own = b.ownMs - a.ownMs;
  const other = a.machineBusyMs === null || b.machineBusyMs === null ? null : Math.max(0, b.machineBusyMs - a.machineBusyMs - own);
  return { wallMs, ownCores: own / wallMs, otherCores: other === null ? null : other / wallMs };
}

/** A span is "clean" when other processes took less than this many cores on average during it. */
export const CLEAN_OTHER_CORES = 0.1;

export function isClean(c: CpuSpan): boolean {
  return c.otherCores === null || c.otherCores < CLEAN_OTHER_CORES;
}

/**
 * Waits (in 500 ms windows) until other processes use less than CLEAN_OTHER_CORES, at most
 * `maxWaitMs`. Returns how long it waited and what the last window saw.
 */
export async function waitQuiet(maxWaitMs: number): Promise<{ waitedMs: number; otherCores: number | null }> {
  const t0 = performance.now();
  for (;;) {
    const s = snapshot();
    await new Promise((r) => setTimeout(r, 500));
    const c = since(s);
    const waited = performance.now() - t0;
    if (isClean(c) || waited >= maxWaitMs) return { waitedMs: waited, otherCores: c.otherCores };
  }
}

export function loadAverage(): number {
  return os.loadavg()[0] ?? 0;
}

export function maxRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024; // maxRSS is in KiB and covers every thread
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
