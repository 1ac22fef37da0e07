import path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { EXIT_INTERRUPTED, EXIT_OK, EXIT_SOME_FAILED, EXIT_UNUSABLE, reportFatal, writeOut } from '../exit.js';
import { parseLayer } from '../options.js';
import type { DownloadEvent, InstalledModel } from '../../engine/models/manager.js';
import { downloadErrorKind, inspectModelFile, modelCatalogue, parseSaeLayers, type ModelCatalogue } from '../../app/model-catalogue.js';
import { COMMAND_INFO } from '../command-info.js';

/** Exit status of a download stopped by Ctrl-C (128 + SIGINT), as shells report it. */

// ---------------------------------------------------------------------------------- display

/** "1.7 GB", "512 KB", "93 B": short, for progress lines and tables. */
export function shortBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = -1;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

function duration(s: number): string {
  const t = Math.round(s);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = String(t % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/**
 * One self-rewriting status line on a terminal (stderr), plain lines elsewhere, so that logs and
 * pipes get a readable record and a terminal gets a live bar.
 */
class ProgressView {
  private readonly tty: boolean;
  private lineShown = false;
  private lastDraw = 0;

  constructor(private readonly out: NodeJS.WriteStream = process.stderr) {
    this.tty = Boolean(out.isTTY) && !process.env['CI'];
  }

  bar(label: string, bytes: number, total: number | null, rate: number | null, eta: number | null, force = false): void {
    if (!this.tty) return;
    const now = Date.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const cols = this.out.columns ? Math.max(40, this.out.columns) : 80;
    const pct = total ? Math.min(1, bytes / total) : null;
    const stats = [
      pct !== null ? `${(pct * 100).toFixed(0).padStart(3)}%` : '',
      `${shortBytes(bytes)}${total ? ` / ${shortBytes(total)}` : ''}`,
      rate ? `${shortBytes(rate)}/s` : '',
      eta !== null && Number.isFinite(eta) ? `ETA ${duration(eta)}` : '',
    ].filter(Boolean).join('  ');
    // "<label> [#####.....] <stats>", the label shortened first, then the bar
    const room = cols - 1 - stats.length - 1;
    // the bar's width depends on the terminal only, so it does not wobble as the numbers change
    const barWidth = pct === null ? 0 : Math.max(10, Math.min(30, cols - 1 - 52 - Math.min(label.length, 28) - 3));
    const labelRoom = Math.max(8, room - (barWidth ? barWidth + 3 : 0));
    const shown = label.length > labelRoom ? `${label.slice(0, labelRoom - 1)}…` : label;
    const filled = pct === null ? 0 : Math.round(pct * barWidth);
    let line = `${shown}${barWidth ? ` [${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}]` : ''} ${stats}`;
    if (line.length > cols - 1) line = line.slice(0, cols - 1);
    this.out.write(`\r${line}\x1b[K`);
    this.lineShown = true;
  }

  /** A permanent line (clears the bar first). */
  line(text: string): void {
    if (this.lineShown) {
      this.out.write('\r\x1b[K');
      this.lineShown = false;
    }
    this.out.write(`${text}\n`);
  }

  done(): void {
    if (this.lineShown) this.out.write('\r\x1b[K');
    this.lineShown = false;
  }
}

function describe(m: InstalledModel): string {
  const d = m.details;
  if (!d) return '';
  if (d.kind === 'vision') return `CLIP vision, width ${d.width}, ${d.layers} layers, ${d.tokens} tokens`;
  return `${d.format === 'clipscope' ? 'CLIP-Scope' : 'SAELens'} ${d.architecture}${d.k ? ` k=${d.k}` : ''}, ${d.nFeatures.toLocaleString('en-US')} features, d_in ${d.dIn}`;
}

function flags(m: InstalledModel): string {
  const f: string[] = [];
  if (m.demo) f.push('DEMO: random weights, meaningless features');
  if (m.builtIn) f.push('built in');
  if (m.source.type === 'import') f.push(m.source.copied ? 'imported (copied)' : 'imported (by reference)');
  if (m.source.type === 'hub') f.push(`from ${m.source.repo}`);
  if (m.usedBy.length) f.push(`used by ${m.usedBy.length} librar${m.usedBy.length === 1 ? 'y' : 'ies'}`);
  if (!m.present) f.push('FILES MISSING');
  return f.join('; ');
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
}

// ---------------------------------------------------------------------------------- commands

interface DirOpt { dir?: string }

const manager = (o: DirOpt & { endpoint?: string }): ModelCatalogue =>
  modelCatalogue({ ...(o.dir ? { dir: o.dir } : {}), ...(o.endpoint ? { endpoint: o.endpoint } : {}) });

function layersOption(value: string): number[] {
  try {
    return parseSaeLayers(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

export function registerModels(program: Command): void {
  const models = program.command('models').description(COMMAND_INFO['models'].description);
  const dirHelp = 'models folder (default: the app-data models folder)';

  models
    .command('inspect')
    .description('what a model folder or SAE file holds: architecture, sizes, layers, SAE format, k, features')
    .argument('<path>', 'CLIP model folder, CLIP-Scope .pt file or SAELens folder')
    .option('--json', 'print JSON')
    .action(async (p: string, opts: { json?: boolean }) => {
      const { model: m, demo } = await inspectModelFile(p);
      if (opts.json) return writeOut(`${JSON.stringify(demo ? { ...m, demo: true } : m)}\n`);
      const demoLine = demo ? ['  DEMO model: random weights, its features mean nothing (see resources/demo/README.md)'] : [];
      if (m.kind === 'vision') {
        return writeOut([
          `${m.path}: CLIP vision model (${m.architecture})`,
          `  width ${m.width}, ${m.layers} layers (0..${m.layers - 1}), ${m.heads} heads, activation ${m.hiddenAct}`,
          `  image ${m.imageSize}px, patch ${m.patchSize}, ${m.tokens} tokens (CLS + ${Math.sqrt(m.tokens - 1)}x${Math.sqrt(m.tokens - 1)} patches)`,
          `  embedding ${m.projectionDim ?? `${m.width} (no projection)`}; weights ${m.weightsFile} (${m.dtype})`,
          ...demoLine,
          '',
        ].join('\n'));
      }
      return writeOut([
        `${m.path}: ${m.format === 'clipscope' ? 'CLIP-Scope' : 'SAELens'} SAE, ${m.architecture}${m.k ? ` k=${m.k}` : ''}`,
        `  d_in ${m.dIn}, ${m.nFeatures} features, layer ${m.layer ?? 'not recorded (pass --layer)'}`,
        ...demoLine,
        '',
      ].join('\n'));
    });

  models
    .command('list')
    .description('installed models: the built-in demo, downloads and imports')
    .option('--dir <dir>', dirHelp)
    .option('--json', 'print JSON (an array of registry entries)')
    .action(async (opts: DirOpt & { json?: boolean }) => {
      const list = await manager(opts).list();
      if (opts.json) return writeOut(`${JSON.stringify(list, null, 2)}\n`);
      const rows = [['NAME', 'KIND', 'LAYER', 'SIZE', 'PATH'], ...list.map((m) => [m.name, m.kind, m.layer === null ? '-' : String(m.layer), shortBytes(m.size), m.path])];
      const notes = list.map((m) => `  ${m.name}: ${[describe(m), flags(m)].filter(Boolean).join('; ')}`);
      const hint = list.some((m) => !m.demo) ? [] : ['', 'Only the demo is installed. Get the real models with `clipscope models download`, or `clipscope models import PATH`.'];
      return writeOut(`${table(rows)}\n\n${notes.join('\n')}\n${hint.join('\n')}${hint.length ? '\n' : ''}`);
    });

  models
    .command('download')
    .description(`download CLIP ViT-L/14 (laion2B) and CLIP-Scope SAEs from the Hugging Face hub (resumable, sha256-verified)`)
    .addOption(new Option('--layers <list>', 'SAE layers, comma separated (2, 5, 8, 11, 14, 17, 20, 22)').argParser(layersOption).default([22], '22'))
    .option('--no-vision', 'skip the CLIP model (SAEs only)')
    .option('--endpoint <url>', 'hub endpoint (default: $HF_ENDPOINT, else https://huggingface.co)')
    .option('--revision <rev>', 'branch, tag or commit', 'main')
    .option('--dir <dir>', dirHelp)
    .option('--json', 'print the outcome as JSON')
    .action(async (opts: DirOpt & { layers: number[]; vision: boolean; endpoint?: string; revision: string; json?: boolean }) => {
      const mgr = manager(opts);
      const view = new ProgressView();
      const ac = new AbortController();
      const onSigint = (): void => {
        if (ac.signal.aborted) process.exit(EXIT_INTERRUPTED);
        ac.abort();
      };
      process.on('SIGINT', onSigint);
      const onEvent = (e: DownloadEvent): void => {
        switch (e.type) {
          case 'plan': {
            for (const n of e.notes) view.line(`note: ${n}`);
            const files = e.models.flatMap((m) => m.files);
            const todo = files.filter((f) => !f.present);
            view.line(`${e.endpoint}: ${e.models.map((m) => m.name).join(', ') || 'nothing'} — ${todo.length} of ${files.length} file${files.length === 1 ? '' : 's'} to download${e.totalBytes !== null ? ` (${shortBytes(e.totalBytes)})` : ''} into ${mgr.dir}`);
            break;
          }
          case 'file-start':
            view.line(`${e.resumeFrom > 0 ? 'resuming' : 'downloading'} ${e.file}${e.size !== null ? ` (${shortBytes(e.size)})` : ''}${e.resumeFrom > 0 ? ` from ${shortBytes(e.resumeFrom)}` : ''}`);
            break;
          case 'progress':
            view.bar(`${e.progress.phase === 'verify' ? 'checking ' : ''}${path.basename(e.progress.file)}`, e.progress.bytes, e.progress.total, e.progress.rate, e.progress.etaSeconds);
            break;
          case 'retry':
            view.line(`  ${e.reason}; retrying in ${(e.delayMs / 1000).toFixed(1)} s`);
            break;
          case 'file-done':
            view.line(e.skipped ? `${e.file}: already in place (sha256 matches)` : `  ${shortBytes(e.size)}, ${e.verified ? 'sha256 verified' : `sha256 ${e.sha256.slice(0, 12)}… (the hub gave no checksum to compare)`}`);
            break;
          case 'model-done':
            view.line(`installed ${e.entry.name}: ${e.entry.path}`);
            break;
          case 'model-failed':
            view.line(`failed ${e.model}: ${e.error}`);
            break;
        }
      };
      try {
        const out = await mgr.download({
          layers: opts.layers, vision: opts.vision, revision: opts.revision,
          ...(opts.endpoint ? { endpoint: opts.endpoint } : {}), signal: ac.signal, onEvent,
        });
        view.done();
        if (opts.json) {
          await writeOut(`${JSON.stringify({ installed: out.installed, failed: out.failed.map((f) => ({ name: f.name, error: f.error.message, kind: downloadErrorKind(f.error) ?? 'error' })) }, null, 2)}\n`);
        } else if (out.installed.length) {
          await writeOut(`${out.installed.map((m) => `${m.name}\t${m.path}`).join('\n')}\n`);
        }
        for (const f of out.failed) process.stderr.write(`clipscope: ${f.error.message}\n`);
        process.exitCode = out.failed.length === 0 ? EXIT_OK : out.installed.length > 0 ? EXIT_SOME_FAILED : EXIT_UNUSABLE;
      } catch (err) {
        view.done();
        if (downloadErrorKind(err) === 'cancelled') {
          process.stderr.write('clipscope: download cancelled; what was downloaded so far is kept as .partial files, run the same command to resume\n');
          process.exitCode = EXIT_INTERRUPTED;
        } else {
          reportFatal(err);
        }
      } finally {
        process.off('SIGINT', onSigint);
      }
    });

  models
    .command('import')
    .description('register local models (a CLIP folder, a CLIP-Scope .pt, a SAELens folder, or a folder of them) after checking them; files stay where they are unless --copy')
    .argument('<path>', 'file or folder')
    .option('--name <name>', 'registry name (one model only)')
    .option('--copy', 'copy the files into the models folder instead of referencing them')
    .option('--layer <n>', 'layer of an SAE whose file does not record it', parseLayer)
    .option('--dir <dir>', dirHelp)
    .option('--json', 'print JSON')
    .action(async (p: string, opts: DirOpt & { name?: string; copy?: boolean; layer?: number; json?: boolean }) => {
      const view = new ProgressView();
      const out = await manager(opts).importModels(p, {
        ...(opts.name !== undefined ? { name: opts.name } : {}),
        ...(opts.layer !== undefined ? { layer: opts.layer } : {}),
        copy: Boolean(opts.copy),
        onProgress: (e) => view.bar(`${e.phase === 'hash' ? 'checksum' : 'copy'} ${path.basename(e.file)}`, e.bytes, e.total, null, null),
      });
      view.done();
      const failures = out.skipped.filter((s) => !/^already registered|^an earlier checkpoint/.test(s.reason));
      if (opts.json) await writeOut(`${JSON.stringify(out, null, 2)}\n`);
      else {
        const lines = out.imported.map((m) => `imported ${m.name} (${m.kind}${m.layer !== null ? `, layer ${m.layer}` : ''}, ${shortBytes(m.size)}${m.source.type === 'import' && m.source.copied ? ', copied' : ', by reference'}): ${m.path}`);
        if (lines.length) await writeOut(`${lines.join('\n')}\n`);
      }
      for (const s of out.skipped) process.stderr.write(`skipped ${s.path}: ${s.reason}\n`);
      process.exitCode = failures.length > 0 ? EXIT_SOME_FAILED : EXIT_OK;
    });

  models
    .command('verify')
    .description('check installed models: files present, sizes and sha256 as recorded, still loadable')
    .argument('[name]', 'one model (default: all)')
    .option('--quick', 'sizes only, no sha256 (fast)')
    .option('--dir <dir>', dirHelp)
    .option('--json', 'print JSON')
    .action(async (name: string | undefined, opts: DirOpt & { quick?: boolean; json?: boolean }) => {
      const view = new ProgressView();
      const out = await manager(opts).verify({
        ...(name !== undefined ? { name } : {}), quick: Boolean(opts.quick),
        onProgress: (e) => view.bar(`sha256 ${e.name}: ${path.basename(e.file)}`, e.bytes, e.total, null, null),
      });
      view.done();
      if (opts.json) await writeOut(`${JSON.stringify(out, null, 2)}\n`);
      else {
        const lines = out.models.map((m) => (m.ok ? `ok      ${m.name}` : `FAILED  ${m.name}\n${m.problems.map((p) => `          ${p}`).join('\n')}`));
        for (const p of out.partials) lines.push(`partial ${p.path} (${shortBytes(p.size)}): an interrupted download; \`clipscope models download\` resumes it`);
        if (lines.length === 0) lines.push('no models installed');
        await writeOut(`${lines.join('\n')}\n`);
      }
      process.exitCode = out.models.every((m) => m.ok) ? EXIT_OK : EXIT_SOME_FAILED;
    });

  models
    .command('remove')
    .description('unregister a model; files we downloaded or copied are deleted, imported files and library results are never touched')
    .argument('<name>', 'model name (see `clipscope models list`)')
    .option('--force', 'remove even when libraries use it (their indexed results stay)')
    .option('--dir <dir>', dirHelp)
    .option('--json', 'print JSON')
    .action(async (name: string, opts: DirOpt & { force?: boolean; json?: boolean }) => {
      const out = await manager(opts).remove(name, { force: Boolean(opts.force) });
      if (opts.json) return writeOut(`${JSON.stringify({ name: out.entry.name, deleted: out.deleted, kept: out.kept }, null, 2)}\n`);
      const lines = [`removed ${name}`];
      if (out.deleted.length) lines.push(`  deleted ${out.deleted.length} file${out.deleted.length === 1 ? '' : 's'} (${shortBytes(out.entry.files.filter((f) => out.deleted.includes(f.path)).reduce((a, f) => a + f.size, 0))})`);
      if (out.kept.length) lines.push(`  left in place (not ours): ${out.kept.join(', ')}`);
      return writeOut(`${lines.join('\n')}\n`);
    });

}
