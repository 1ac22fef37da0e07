import { InvalidArgumentError, type Command } from 'commander';
import { UserFacingError } from '../../engine/errors.js';
import type { Edit, TokenScope } from '../../engine/steering/edits.js';
import type { FeatureChange, LaterLayerResult, LayerDiff, SteererInfo } from '../../engine/steering/steering.js';
import { steerFile, type SteerFileRequest, type SteerNeighbours } from '../../app/steer-file.js';
import { EXIT_SOME_FAILED, writeOut } from '../exit.js';
import { parseLayer, parsePositiveInt } from '../options.js';
import { num } from '../library.js';
import { COMMAND_INFO } from '../command-info.js';

interface SteerOptions {
  model: string;
  sae: string;
  layer?: number;
  provider: string;
  db?: string;
  neighbours: number;
  json?: boolean;
  laterLayer?: number;
  laterSae?: string;
}

const NUMBER = String.raw`[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?`;

/** "F=V[@TOKENS]": TOKENS is cls, all (the default) or comma-separated token indices. */
export function parseEdit(spec: string, kind: 'value' | 'scale'): Edit {
  const m = new RegExp(`^(\\d+)=(${NUMBER})(?:@(cls|all|\\d+(?:,\\d+)*))?$`, 'i').exec(spec.trim());
  if (!m) {
    const what = kind === 'value' ? 'FEATURE=VALUE' : 'FEATURE=FACTOR';
    throw new InvalidArgumentError(`"${spec}" is not ${what}[@TOKENS] (TOKENS: cls, all or token indices such as 0,5,17)`);
  }
  const tokens: TokenScope = m[3] === undefined ? 'all' : /^(cls|all)$/i.test(m[3]) ? (m[3].toLowerCase() as 'cls' | 'all') : m[3].split(',').map(Number);
  const feature = Number(m[1]);
  const amount = Number(m[2]);
  return kind === 'value' ? { feature, value: amount, tokens } : { feature, scale: amount, tokens };
}

/** The edit as the JSON contract prints it: {"feature", "value" | "scale", "tokens"}. */
function editJson(e: Edit): Record<string, unknown> {
  return 'value' in e ? { feature: e.feature, value: e.value, tokens: e.tokens } : { feature: e.feature, scale: e.scale, tokens: e.tokens };
}

function describeEdit(e: Edit): string {
  const on = e.tokens === 'cls' ? 'CLS' : e.tokens === 'all' ? 'all tokens' : `tokens ${(e.tokens as number[]).join(',')}`;
  return 'value' in e ? `set #${e.feature} = ${e.value} on ${on}` : `scale #${e.feature} x ${e.scale} on ${on}`;
}

/**
 * What --later-layer / --later-sae ask for. The SAE comes from --later-sae, or the --db library's
 * configuration at that layer; checked before the model opens, so a missing one fails fast.
 */
function laterRequest(opts: SteerOptions): SteerFileRequest['later'] {
  const layer = opts.laterLayer;
  if (layer === undefined) {
    if (opts.laterSae !== undefined) throw new UserFacingError('--later-sae needs --later-layer L2 (the layer whose features to compare)');
    return undefined;
  }
  if (opts.laterSae !== undefined) return { layer, sae: opts.laterSae };
  if (!opts.db) throw new UserFacingError(`--later-layer ${layer} needs an SAE for that layer: --later-sae PATH, or --db with a library indexed at layer ${layer}`);
  return { layer };
}

function changesJson(d: LayerDiff): Record<string, unknown> {
  const list = (xs: readonly FeatureChange[]) => xs.map((x) => ({ feature: x.feature, before: x.before, after: x.after }));
  return { gained: list(d.gained), lost: list(d.lost), changed: list(d.changed) };
}

/** The --json key of --later-layer: {"layer", "sae", "cls", "edited", "edited_tokens"}. */
function laterJson(l: LaterLayerResult, sae: string): Record<string, unknown> {
  return { layer: l.layer, sae, cls: changesJson(l.cls), edited: l.edited ? changesJson(l.edited) : null, edited_tokens: l.editedTokens };
}

function laterLines(l: LaterLayerResult): string[] {
  const fmt = (xs: readonly FeatureChange[]) => xs.length === 0 ? 'none' : xs.map((x) => `#${x.feature} (${num(x.before)} -> ${num(x.after)})`).join(', ');
  const view = (name: string, d: LayerDiff) => [`    ${name} gained: ${fmt(d.gained)}`, `    ${name} lost: ${fmt(d.lost)}`, `    ${name} changed most: ${fmt(d.changed)}`];
  return [
    `  at layer ${l.layer} (features before -> after):`,
    ...view('CLS', l.cls),
    ...(l.edited ? view(`edited tokens (${l.editedTokens}, mean)`, l.edited) : []),
  ];
}

/** "=", "up 2", "down 1" or "new" for each image of the after list. */
function rankChange(n: SteerNeighbours, i: number): string {
  const was = n.before.findIndex((b) => b.imageId === n.after[i]!.imageId);
  if (was < 0) return 'new';
  return was === i ? '=' : was > i ? `up ${was - i}` : `down ${i - was}`;
}

function summary(file: string, info: SteererInfo, edits: readonly Edit[], r: { cosine: number; l2: number; recon: number; later: LaterLayerResult | null }, n: SteerNeighbours | null): string {
  const lines = [
    `${file} at layer ${info.layer} (${info.provider})`,
    ...edits.map((e) => `  ${describeEdit(e)}`),
    `  cosine to the original embedding ${r.cosine.toFixed(6)}   L2 change ${num(r.l2)}   reconstruction cosine ${r.recon.toFixed(6)}`,
  ];
  if (n) {
    lines.push('  nearest photos before:');
    n.before.forEach((b, i) => lines.push(`    ${String(i + 1).padStart(3)}  ${b.score.toFixed(4)}  ${b.file}`));
    lines.push('  after:');
    n.after.forEach((a, i) => lines.push(`    ${String(i + 1).padStart(3)}  ${a.score.toFixed(4)}  ${a.file}  (${rankChange(n, i)})`));
    const gone = n.before.filter((b) => !n.after.some((a) => a.imageId === b.imageId));
    if (gone.length) lines.push(`  gone: ${gone.map((g) => g.file).join(', ')}`);
  }
  if (r.later) lines.push(...laterLines(r.later));
  return `${lines.join('\n')}\n`;
}

export function registerSteer(program: Command): void {
  // --set and --scale feed one list, so edits apply in command-line order (commander parses in order).
  const ordered: Edit[] = [];
  const edits = (kind: 'value' | 'scale') => (spec: string): Edit[] => {
    ordered.push(parseEdit(spec, kind));
    return ordered;
  };
  program
    .command('steer')
    .description(COMMAND_INFO['steer'].description)
    .argument('<image>', 'image file')
    .requiredOption('--model <dir>', 'Hugging Face CLIP model folder (config.json, weights, preprocessor_config.json)')
    .requiredOption('--sae <path>', 'CLIP-Scope .pt checkpoint or SAELens folder')
    .option('--layer <L>', 'residual-stream layer (default: the layer the SAE records)', parseLayer)
    .option('--provider <name>', 'execution provider: auto, cpu, webgpu, cuda, dml, coreml', 'auto')
    .option('--set <F=V[@TOKENS]>', 'set feature F to V (0 ablates) on TOKENS: cls, all (default) or indices 0,5,17 (0 = CLS); repeatable', edits('value'))
    .option('--scale <F=S[@TOKENS]>', "multiply feature F's activation by S on TOKENS; repeatable", edits('scale'))
    .option('--db <file>', 'library whose nearest photos to list before and after')
    .option('--neighbours <n>', 'nearest photos to list (with --db)', parsePositiveInt, 10)
    .option('--json', 'one JSON object')
    .option('--later-layer <L2>', "also list the features gained and lost at layer L2 (after --layer), on CLS and over the edited tokens", parseLayer)
    .option('--later-sae <path>', 'the SAE for --later-layer (default: the --db library\'s configuration at that layer)')
    .action(async (image: string, opts: SteerOptions) => {
      const all = ordered;
      if (all.length === 0) throw new UserFacingError('give at least one edit: --set F=V[@TOKENS] or --scale F=S[@TOKENS]');
      const later = laterRequest(opts);
      const r = await steerFile({
        file: image, modelDir: opts.model, sae: opts.sae, provider: opts.provider, edits: all, neighbours: opts.neighbours,
        ...(opts.layer === undefined ? {} : { layer: opts.layer }), ...(opts.db ? { db: opts.db } : {}), ...(later ? { later } : {}),
      });
      if (!r.ok) {
        process.stderr.write(`clipscope: ${r.error}\n`);
        process.exitCode = EXIT_SOME_FAILED;
        return;
      }
      const n = r.neighbours;
      if (opts.json) {
        await writeOut(`${JSON.stringify({
          file: image,
          layer: r.info.layer,
          edits: all.map(editJson),
          embedding: Array.from(r.embedding),
          original_embedding: Array.from(r.original),
          cosine: r.cosine,
          reconstruction_cosine: r.reconstructionCosine,
          ...(n ? { neighbours: { before: n.before.map((b) => ({ file: b.file, score: b.score })), after: n.after.map((a) => ({ file: a.file, score: a.score })) } } : {}),
          // Only with --later-layer: without it the object is exactly the contract's.
          ...(r.later ? { later_layer: laterJson(r.later.result, r.later.sae) } : {}),
        })}\n`);
      } else {
        await writeOut(summary(image, r.info, all, { cosine: r.cosine, l2: r.l2, recon: r.reconstructionCosine, later: r.later?.result ?? null }, n));
      }
    });
}
