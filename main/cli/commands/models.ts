import type { Command } from 'commander';
import { inspectModel } from '../../engine/inspect.js';
import { writeOut } from '../exit.js';

export function registerModels(program: Command): void {
  const models = program.command('models').description('inspect CLIP models and SAEs');
  models
    .command('inspect')
    .description('what a model folder or SAE file holds: architecture, sizes, layers, SAE format, k, features')
    .argument('<path>', 'CLIP model folder, CLIP-Scope .pt file or SAELens folder')
    .option('--json', 'print JSON')
    .action(async (p: string, opts: { json?: boolean }) => {
      const m = await inspectModel(p);
      if (opts.json) return writeOut(`${JSON.stringify(m)}\n`);
      if (m.kind === 'vision') {
        return writeOut([
          `${m.path}: CLIP vision model (${m.architecture})`,
          `  width ${m.width}, ${m.layers} layers (0..${m.layers - 1}), ${m.heads} heads, activation ${m.hiddenAct}`,
          `  image ${m.imageSize}px, patch ${m.patchSize}, ${m.tokens} tokens (CLS + ${Math.sqrt(m.tokens - 1)}x${Math.sqrt(m.tokens - 1)} patches)`,
          `  embedding ${m.projectionDim ?? `${m.width} (no projection)`}; weights ${m.weightsFile} (${m.dtype})`,
          '',
        ].join('\n'));
      }
      return writeOut([
        `${m.path}: ${m.format === 'clipscope' ? 'CLIP-Scope' : 'SAELens'} SAE, ${m.architecture}${m.k ? ` k=${m.k}` : ''}`,
        `  d_in ${m.dIn}, ${m.nFeatures} features, layer ${m.layer ?? 'not recorded (pass --layer)'}`,
        '',
      ].join('\n'));
    });
}
