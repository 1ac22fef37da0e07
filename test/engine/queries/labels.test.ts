import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { exportLabels, getLabel, importLabels, searchLabels, setLabel } from '../../../main/engine/queries/labels.js';
import { Library, type ConfigRow, type WritableLibrary } from '../../../main/engine/store/library.js';
import { SYNTH, tempDir } from '../store/helpers.js';

let file: string;
let lib: WritableLibrary;
let config: ConfigRow;
beforeEach(async () => {
  file = path.join(await tempDir('clipscope-labels-'), 'library.sqlite');
  lib = Library.open(file);
  config = lib.ensureConfig(SYNTH);
});

describe('feature labels and notes', () => {
  it('are set, edited, searched and persisted per SAE', () => {
    setLabel(lib, config, 12, { label: '  cat ears ' });
    setLabel(lib, config, 12, { note: 'also fox ears' });
    setLabel(lib, config, 40, { label: 'Sky, blue', note: '100% outdoors_ish' });
    expect(getLabel(lib, config, 12)).toMatchObject({ feature: 12, label: 'cat ears', note: 'also fox ears' });
    expect(searchLabels(lib, config, 'EARS').map((l) => l.feature)).toEqual([12]);
    expect(searchLabels(lib, config, 'fox').map((l) => l.feature)).toEqual([12]);
    expect(searchLabels(lib, config, '100%').map((l) => l.feature)).toEqual([40]);
    expect(searchLabels(lib, config, '_').map((l) => l.feature)).toEqual([40]); // LIKE wildcards are literal
    // The same SAE at another layer shares the labels; another SAE does not.
    const sameSae = lib.ensureConfig({ ...SYNTH, layer: 9 });
    const otherSae = lib.ensureConfig({ ...SYNTH, saeFingerprint: 'sae:other' });
    expect(getLabel(lib, sameSae, 40)?.label).toBe('Sky, blue');
    expect(getLabel(lib, otherSae, 40)).toBeUndefined();
    lib.close();
    lib = Library.open(file);
    expect(getLabel(lib, config, 12)?.label).toBe('cat ears');
    setLabel(lib, config, 12, { label: '', note: '' });
    expect(getLabel(lib, config, 12)).toBeUndefined();
    expect(() => setLabel(lib, config, 200, { label: 'x' })).toThrow(/feature 200 is out of range/);
    lib.close();
  });

  it('export to JSON and import back: merge keeps the newer edit, replace takes the file', () => {
    setLabel(lib, config, 1, { label: 'one' });
    setLabel(lib, config, 2, { label: 'two', note: 'n' });
    const exported = JSON.parse(JSON.stringify(exportLabels(lib, config))) as ReturnType<typeof exportLabels>;
    expect(exported).toMatchObject({ format: 'clipscope-feature-labels', version: 1, saeFingerprint: SYNTH.saeFingerprint, labels: [{ feature: 1, label: 'one' }, { feature: 2, label: 'two', note: 'n' }] });

    const target = Library.open(path.join(path.dirname(file), 'other.sqlite'));
    const tc = target.ensureConfig({ ...SYNTH, layer: 3 });
    setLabel(target, tc, 2, { label: 'edited later' });
    expect(importLabels(target, tc, exported)).toEqual({ imported: 1, kept: 1 });
    expect(getLabel(target, tc, 1)?.label).toBe('one');
    expect(getLabel(target, tc, 2)?.label).toBe('edited later');
    expect(importLabels(target, tc, exported, { mode: 'replace' })).toEqual({ imported: 2, kept: 0 });
    expect(getLabel(target, tc, 2)?.label).toBe('two');

    const foreign = target.ensureConfig({ ...SYNTH, saeFingerprint: 'sae:other', saePath: '/other.pt' });
    expect(() => importLabels(target, foreign, exported)).toThrow(/written for another SAE/);
    expect(importLabels(target, foreign, exported, { anySae: true }).imported).toBe(2);
    expect(() => importLabels(target, tc, { format: 'something else' })).toThrow(/not a CLIP-Scope labels file/);
    expect(() => importLabels(target, tc, { ...exported, labels: [{ feature: 999, label: 'x', note: '', updatedAt: 1 }] })).toThrow(/feature 999 is out of range/);
    target.close();
    lib.close();
  });
});
