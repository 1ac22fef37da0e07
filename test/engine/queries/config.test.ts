import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../../main/engine/queries/config.js';
import { Library, openLibrary, type WritableLibrary } from '../../../main/engine/store/library.js';
import { addSyntheticImages, SYNTH, tempDir } from '../store/helpers.js';

let file: string;
let lib: WritableLibrary;
beforeEach(async () => {
  file = path.join(await tempDir('clipscope-config-'), 'library.sqlite');
  lib = Library.open(file);
});
afterEach(() => lib.close());

describe('picking a configuration', () => {
  it('needs something indexed', () => {
    lib.ensureConfig(SYNTH); // a config without results does not count
    expect(() => resolveConfig(lib)).toThrow(expect.objectContaining({ message: `${file} holds no indexed images yet`, code: 'not-indexed' }));
  });

  it('takes the only one, or the one at a layer, or the one by id; lists the choices otherwise', () => {
    const a = lib.ensureConfig(SYNTH);
    addSyntheticImages(lib, a, 3, 1);
    expect(resolveConfig(lib).id).toBe(a.id);
    const b = lib.ensureConfig({ ...SYNTH, layer: 8 });
    const c = lib.ensureConfig({ ...SYNTH, layer: 8, normalization: 'standardized' });
    addSyntheticImages(lib, b, 3, 2, '/b');
    addSyntheticImages(lib, c, 3, 3, '/c');
    expect(resolveConfig(lib, { layer: 5 }).id).toBe(a.id);
    expect(resolveConfig(lib, { configId: c.id }).id).toBe(c.id);
    // Neutral words (the app shows them too); the CLI adds the flags (test/cli/store-queries.test.ts).
    expect(() => resolveConfig(lib)).toThrow(/holds several configurations: #1: layer 5, raw inputs.*; #2: layer 8.*; #3: layer 8, standardized inputs/);
    expect(() => resolveConfig(lib)).toThrow(expect.objectContaining({ code: 'ambiguous-config', details: { layerGiven: false } }));
    expect(() => resolveConfig(lib, { layer: 8 })).toThrow(/several configurations of .* are at layer 8: #2: .*; #3: /);
    expect(() => resolveConfig(lib, { layer: 11 })).toThrow(/has nothing indexed at layer 11; it holds #1: layer 5/);
    expect(() => resolveConfig(lib, { configId: 9 })).toThrow(/has no indexed configuration #9/);
    expect(() => resolveConfig(lib, { configId: a.id, layer: 8 })).toThrow(/is at layer 5, not 8/);
  });

  it('never creates a library when opening one for queries', () => {
    expect(() => openLibrary(path.join(path.dirname(file), 'typo.sqlite'))).toThrow(/typo\.sqlite: no such library/);
  });
});
