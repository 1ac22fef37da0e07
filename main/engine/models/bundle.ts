import path from 'node:path';
import { DownloadError, ModelRegistryError } from './errors.js';
import type { HubClient, RepoListing } from './hub.js';

/** The CLIP checkpoint CLIP-Scope was trained on, and the SAE suite. */
export const CLIP_REPO = 'laion/CLIP-ViT-L-14-laion2B-s32B-b82K';
export const SAE_REPO = 'lewington/CLIP-ViT-L-scope';
export const DEFAULT_REVISION = 'main';

/** Layers with a published CLIP-Scope SAE. */
export const SAE_LAYERS: readonly number[] = [2, 5, 8, 11, 14, 17, 20, 22];
export const DEFAULT_LAYERS: readonly number[] = [22];
/** Checkpoint names known without the repo listing (the model card names the final layer-22 one). */
export const KNOWN_SAE_FILES: Readonly<Record<number, string>> = { 22: '22_resid/1200013184.pt' };

/** transformers files of the CLIP repo; the open_clip duplicates of the weights are never fetched. */
export const CLIP_CONFIG_FILES: readonly string[] = ['config.json', 'preprocessor_config.json'];
export const CLIP_WEIGHT_CANDIDATES: readonly string[] = ['model.safetensors', 'pytorch_model.bin'];

export const VISION_NAME = 'clip-vit-l-14-laion2b';
export const saeName = (layer: number): string => `clip-scope-l${layer}`;

export interface PlannedFile {
  readonly repo: string;
  /** Path in the repo; when `candidates` has several, the first that exists (decided at preflight). */
  path: string;
  readonly candidates: readonly string[];
  sha256: string | null;
  size: number | null;
}

export interface PlannedModel {
  readonly name: string;
  readonly kind: 'vision' | 'sae';
  readonly repo: string;
  readonly revision: string;
  /** The commit the revision resolved to (from the listing); downloads use it when known. */
  readonly commit: string | null;
  readonly layer: number | null;
  readonly files: PlannedFile[];
  /** The vision model this SAE reads (a registry name), for SAEs. */
  readonly baseModel: string | null;
}

export function parseLayers(value: string): number[] {
  const parts = value.split(',').map((s) => s.trim()).filter(Boolean);
  const out: number[] = [];
  for (const p of parts) {
    if (!/^\d+$/.test(p)) throw new ModelRegistryError(`"${p}" is not a layer (layers with a CLIP-Scope SAE: ${SAE_LAYERS.join(', ')})`);
    const n = Number(p);
    if (!SAE_LAYERS.includes(n)) throw new ModelRegistryError(`layer ${n} has no CLIP-Scope SAE (layers: ${SAE_LAYERS.join(', ')})`);
    if (!out.includes(n)) out.push(n);
  }
  return out;
}

/** Among `<layer>_resid/<tokens>.pt` in a listing, the final checkpoint: the largest token count. */
export function pickSaeCheckpoint(files: Iterable<string>, layer: number): string | null {
  let best: { file: string; n: bigint } | null = null;
  const re = new RegExp(`^${layer}_resid/(\\d+)\\.pt$`);
  for (const f of files) {
    const m = re.exec(f);
    if (!m) continue;
    const n = BigInt(m[1]!);
    if (!best || n > best.n) best = { file: f, n };
  }
  return best?.file ?? null;
}

/** Where a downloaded file lives: `<dir>/<repo>/<path>` (keeps `N_resid/` for the SAE's layer). */
export function destOf(dir: string, repo: string, file: string): string {
  return path.join(dir, ...repo.split('/'), ...file.split('/'));
}

/** The folder (vision) or file (SAE) a planned model is used from. */
export function modelPathOf(dir: string, m: PlannedModel): string {
  return m.kind === 'vision' ? destOf(dir, m.repo, '') : destOf(dir, m.repo, m.files[0]!.path);
}

async function tryListing(hub: HubClient, repo: string, revision: string): Promise<{ listing: RepoListing | null; why: string | null }> {
  try {
    return { listing: await hub.listRevision(repo, revision), why: null };
  } catch (err) {
    if (err instanceof DownloadError && err.kind === 'cancelled') throw err;
    if (err instanceof DownloadError && err.kind === 'network' && !err.transient) throw err; // no network at all
    return { listing: null, why: (err as Error).message };
  }
}

const fileOf = (repo: string, candidates: readonly string[], listing: RepoListing | null): PlannedFile => {
  const s = listing?.files.get(candidates[0]!);
  return { repo, path: candidates[0]!, candidates, sha256: s?.sha256 ?? null, size: s?.size ?? null };
};

/**
 * What to download for the default bundle: the CLIP checkpoint (config, preprocessor config,
 * transformers weights) and the final SAE of each layer asked for. Uses the repos' file listings
 * when the hub offers them (weights format, checkpoint names, sizes, sha256, commit).
 */
export async function planBundle(
  hub: HubClient,
  opts: { layers: readonly number[]; vision: boolean; revision: string },
): Promise<{ models: PlannedModel[]; failed: { name: string; error: Error }[]; notes: string[] }> {
  const models: PlannedModel[] = [];
  const failed: { name: string; error: Error }[] = [];
  const notes: string[] = [];
  if (opts.vision) {
    const { listing, why } = await tryListing(hub, CLIP_REPO, opts.revision);
    let weights: readonly string[] = CLIP_WEIGHT_CANDIDATES;
    if (listing) {
      const found = CLIP_WEIGHT_CANDIDATES.find((f) => listing.files.has(f));
      if (!found) {
        throw new DownloadError('not-found', `${CLIP_REPO}@${opts.revision} at ${hub.endpoint} holds neither ${CLIP_WEIGHT_CANDIDATES.join(' nor ')}`);
      }
      weights = [found];
    } else {
      notes.push(`${why}; trying ${CLIP_WEIGHT_CANDIDATES.join(', then ')}`);
    }
    models.push({
      name: VISION_NAME, kind: 'vision', repo: CLIP_REPO, revision: opts.revision, commit: listing?.commit ?? null, layer: null, baseModel: null,
      files: [...CLIP_CONFIG_FILES.map((f) => fileOf(CLIP_REPO, [f], listing)), fileOf(CLIP_REPO, weights, listing)],
    });
  }
  if (opts.layers.length > 0) {
    const { listing, why } = await tryListing(hub, SAE_REPO, opts.revision);
    if (!listing) notes.push(why!);
    for (const layer of opts.layers) {
      let file: string | null;
      if (listing) {
        file = pickSaeCheckpoint(listing.files.keys(), layer);
        if (!file) {
          failed.push({ name: saeName(layer), error: new DownloadError('not-found', `${SAE_REPO}@${opts.revision} at ${hub.endpoint} has no layer-${layer} checkpoint (${layer}_resid/*.pt)`) });
          continue;
        }
      } else {
        file = KNOWN_SAE_FILES[layer] ?? null;
        if (!file) {
          const known = Object.entries(KNOWN_SAE_FILES).map(([l, f]) => `${l} (${f})`).join(', ');
          failed.push({ name: saeName(layer), error: new DownloadError('listing', `cannot tell the file name of the layer-${layer} SAE: ${why}; without that listing only layer ${known} can be downloaded (or fetch the file another way and use \`clipscope models import\`)`) });
          continue;
        }
      }
      models.push({
        name: saeName(layer), kind: 'sae', repo: SAE_REPO, revision: opts.revision, commit: listing?.commit ?? null, layer,
        baseModel: VISION_NAME, files: [fileOf(SAE_REPO, [file], listing)],
      });
    }
  }
  return { models, failed, notes };
}
