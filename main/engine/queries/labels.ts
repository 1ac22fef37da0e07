/**
 * The user's feature labels and notes. They belong to an SAE (its fingerprint), not to a layer or
 * a library path: every config with that SAE shows them, and a JSON export carries them to
 * another library.
 */
import { z } from 'zod';
import { UserFacingError } from '../errors.js';
import { containsPattern, labelRow, labelRows, labelRowsContaining, putLabelRow } from '../store/feature-rows.js';
import type { ReadonlyLibrary, WritableLibrary } from '../store/library.js';
import type { ConfigRow } from '../store/rows.js';
import { checkFeature } from './runs.js';

export interface FeatureLabel {
  feature: number;
  label: string;
  note: string;
  updatedAt: number;
}

export const LABELS_FORMAT = 'clipscope-feature-labels';

const labelsFileSchema = z.object({
  format: z.literal(LABELS_FORMAT),
  version: z.literal(1),
  saeFingerprint: z.string().min(1),
  saePath: z.string().optional(),
  labels: z.array(z.object({
    feature: z.number().int().nonnegative(),
    label: z.string(),
    note: z.string(),
    updatedAt: z.number().int().nonnegative(),
  })),
});

export type LabelsFile = z.infer<typeof labelsFileSchema>;

export { containsPattern };

/** Sets a feature's label and/or note (undefined keeps the current one); both empty deletes it. */
export function setLabel(lib: WritableLibrary, config: ConfigRow, feature: number, edit: { label?: string; note?: string }): FeatureLabel {
  checkFeature(feature, config.nFeatures);
  return lib.transaction(() => {
    const current = getLabel(lib, config, feature);
    const next: FeatureLabel = {
      feature,
      label: (edit.label ?? current?.label ?? '').trim(),
      note: (edit.note ?? current?.note ?? '').trim(),
      updatedAt: Date.now(),
    };
    putLabelRow(lib, config.saeFingerprint, next);
    return next;
  });
}

export function getLabel(lib: ReadonlyLibrary, config: ConfigRow, feature: number): FeatureLabel | undefined {
  return labelRow(lib, config.saeFingerprint, feature);
}

/** Labels or notes containing `text`, by feature. */
export function searchLabels(lib: ReadonlyLibrary, config: ConfigRow, text: string, limit = 100): FeatureLabel[] {
  return labelRowsContaining(lib, config.saeFingerprint, text, limit);
}

export function exportLabels(lib: ReadonlyLibrary, config: ConfigRow): LabelsFile {
  return { format: LABELS_FORMAT, version: 1, saeFingerprint: config.saeFingerprint, saePath: config.saePath, labels: labelRows(lib, config.saeFingerprint) };
}

export interface ImportOptions {
  /** 'merge' (default): the newer of the two versions of a label wins; 'replace': the file wins. */
  mode?: 'merge' | 'replace';
  /** Accept labels exported for another SAE (by default an error: feature ids would not match). */
  anySae?: boolean;
}

export function importLabels(lib: WritableLibrary, config: ConfigRow, data: unknown, opts: ImportOptions = {}): { imported: number; kept: number } {
  const parsed = labelsFileSchema.safeParse(data);
  if (!parsed.success) throw new UserFacingError(`not a CLIP-Scope labels file (${parsed.error.issues[0]?.path.join('.') || 'format'}: ${parsed.error.issues[0]?.message ?? 'invalid'})`);
  const file = parsed.data;
  if (file.saeFingerprint !== config.saeFingerprint && !opts.anySae) {
    throw new UserFacingError(`these labels were written for another SAE (${file.saePath ?? file.saeFingerprint}), not ${config.saePath}`);
  }
  for (const l of file.labels) checkFeature(l.feature, config.nFeatures);
  return lib.transaction(() => {
    let imported = 0;
    let kept = 0;
    for (const l of file.labels) {
      const current = getLabel(lib, config, l.feature);
      if (opts.mode !== 'replace' && current && current.updatedAt > l.updatedAt) {
        kept++;
        continue;
      }
      putLabelRow(lib, config.saeFingerprint, { feature: l.feature, label: l.label.trim(), note: l.note.trim(), updatedAt: l.updatedAt });
      imported++;
    }
    return { imported, kept };
  });
}
