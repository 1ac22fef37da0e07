import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import type { IndexRunResult } from '../../engine/library/indexer.js';
import type { IndexProgress } from '../../engine/library/progress.js';
import type { IndexSummary } from '../../engine/library/jobs.js';
import { withIndexing, type IndexingSession } from '../../app/cli-indexing.js';
import { EXIT_INTERRUPTED, writeOut } from '../exit.js';
import { defaultDbPath, libraryFileOf } from '../library.js';
import { withModelOptions, type ModelOptions } from '../options.js';
import { COMMAND_INFO } from '../command-info.js';

interface IndexOptions extends ModelOptions {
  db?: string;
  retryFailed?: boolean;
  thumbnails: boolean;
  json?: boolean;
  watch?: boolean;
}


const PHASE_LABEL: Record<IndexProgress['phase'], string> = {
  scan: 'scanning', hash: 'checking', encode: 'encoding', thumbnails: 'thumbnails', finish: 'finishing', done: 'done',
};

function formatEta(s: number | null): string {
  if (s === null || !Number.isFinite(s)) return '--';
  if (s < 60) return `${Math.round(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function shorten(file: string | null, max = 48): string {
  if (!file) return '';
  return file.length <= max ? file : `…${file.slice(file.length - max + 1)}`;
}

/** A bar on a terminal; plain lines (at most one every 2 s, plus phase changes) otherwise. */
interface Reporter { update: (p: IndexProgress) => void; stop: () => void }

function progressReporter(stream: NodeJS.WriteStream): Reporter {
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar({
      stream,
      format: '{phase} [{bar}] {value}/{total} | {speed} | ETA {left} | {file}',
      barsize: 24,
      hideCursor: true,
      clearOnComplete: false,
      fps: 8,
      noTTYOutput: false,
    }, cliProgress.Presets.shades_classic);
    let started = false;
    let phase: string | null = null;
    return {
      update(p) {
        const payload = {
          phase: PHASE_LABEL[p.phase].padEnd(9),
          speed: p.rate === null ? '-- /s' : `${p.rate.toFixed(1)} /s`,
          left: formatEta(p.etaSeconds),
          file: shorten(p.current),
        };
        const total = p.total ?? Math.max(p.done, 1);
        if (!started) {
          bar.start(total, p.done, payload);
          started = true;
        } else {
          if (phase !== p.phase) bar.setTotal(total);
          else if (p.total !== null) bar.setTotal(p.total);
          else bar.setTotal(total);
          bar.update(p.done, payload);
        }
        phase = p.phase;
      },
      stop() {
        if (started) bar.stop();
      },
    };
  }
  let last = 0;
  let phase: string | null = null;
  return {
    update(p) {
      const now = Date.now();
      if (p.phase === phase && now - last < 2000 && p.done !== p.total) return;
      if (p.phase === 'done') return;
      phase = p.phase;
      last = now;
      if (p.phase === 'scan') {
        stream.write(`scanning: ${p.done} photos found${p.current ? ` (${p.current})` : ''}\n`);
        return;
      }
      if (p.phase === 'finish') {
        stream.write('finishing: feature statistics\n');
        return;
      }
      const of = p.total === null ? '' : `/${p.total}`;
      const rate = p.rate === null ? '' : `, ${p.rate.toFixed(1)}/s, ETA ${formatEta(p.etaSeconds)}`;
      stream.write(`${PHASE_LABEL[p.phase]} ${p.done}${of}${p.failed ? `, ${p.failed} failed` : ''}${rate}${p.current ? ` ${p.current}` : ''}\n`);
    },
    stop() {},
  };
}

function printSummary(s: IndexSummary, state: string): string {
  const lines = [`${state === 'done' ? 'indexed' : state}: ${s.indexed} encoded, ${s.unchanged} unchanged, ${s.moved} moved, ${s.removed} removed, ${s.failed} failed (${s.scanned} files)`];
  for (const f of s.failures) lines.push(`  ${f.file}: ${f.error}`);
  return `${lines.join('\n')}\n`;
}

/** `index --watch`: re-index on changes (one summary per run) until Ctrl-C. */
async function watchUntilInterrupted(session: IndexingSession, report: (r: IndexRunResult) => Promise<void>): Promise<void> {
  const watch = await session.watch(
    (r) => void report(r),
    (e) => process.stderr.write(`clipscope: ${e instanceof Error ? e.message : String(e)}\n`),
  );
  const n = session.folders.length;
  process.stderr.write(`watching ${n} folder${n === 1 ? '' : 's'} for changes (Ctrl-C to stop)\n`);
  await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
  process.stderr.write('\nstopping\n');
  await watch.close();
}

export function registerIndex(program: Command): void {
  withModelOptions(program
    .command('index')
    .description(COMMAND_INFO['index'].description)
    .argument('[folders...]', 'photo folders (added to the library); none: every folder of the library')
    .option('--db <file>', `library file (default: ${defaultDbPath()})`))
    .option('--retry-failed', 'try files that failed before again, even if unchanged')
    .option('--no-thumbnails', 'do not make thumbnails')
    .option('--json', 'print the run summary as one JSON line (the last line of stdout)')
    .option('--watch', 'then keep watching the folders and index changes as they happen (Ctrl-C stops)')
    .action(async (folders: string[], opts: IndexOptions) => {
      let interrupted = false;
      // One progress display per run (--watch runs again and again).
      let reporter: Reporter | null = null;
      const stopReporter = (): void => {
        reporter?.stop();
        reporter = null;
      };
      const request = {
        db: libraryFileOf(opts), folders, modelDir: opts.model, sae: opts.sae, layer: opts.layer ?? null, provider: opts.provider,
        ...(opts.batch ? { batchSize: opts.batch } : {}), thumbnails: opts.thumbnails, retryFailed: opts.retryFailed ?? false,
        onProgress: (p: IndexProgress) => {
          reporter ??= progressReporter(process.stderr);
          reporter.update(p);
          if (p.phase === 'done') stopReporter();
        },
      };
      await withIndexing(request, async (session) => {
        if (session.resumed) process.stderr.write(`resuming interrupted indexing job ${session.jobId}\n`);
        // Ctrl-C: finish the current batch, keep the job paused (the next run resumes it).
        const onSigint = (): void => {
          if (interrupted) process.exit(EXIT_INTERRUPTED); // second Ctrl-C: the job is safe anyway
          interrupted = true;
          process.stderr.write('\nstopping after the current batch (Ctrl-C again to quit now; a re-run resumes)\n');
          session.pause();
        };
        process.on('SIGINT', onSigint);
        let result;
        try {
          result = await session.run();
        } finally {
          process.off('SIGINT', onSigint);
          stopReporter();
        }
        const report = async (r: IndexRunResult): Promise<void> => {
          const ordered: IndexSummary = {
            scanned: r.scanned, indexed: r.indexed, unchanged: r.unchanged, moved: r.moved,
            removed: r.removed, failed: r.failed, failures: r.failures,
          };
          if (opts.json) await writeOut(`${JSON.stringify(ordered)}\n`);
          else await writeOut(printSummary(ordered, r.state));
        };
        await report(result);
        if (result.state !== 'done') {
          process.stderr.write(`indexing job ${session.jobId} ${result.state}${result.state === 'paused' ? '; run the same command again to resume' : ''}\n`);
          process.exitCode = EXIT_INTERRUPTED;
          return;
        }
        if (opts.watch) await watchUntilInterrupted(session, report);
      });
    });
}
