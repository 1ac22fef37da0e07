import { describe, expect, it } from 'vitest';
import { UserFacingError } from '../../main/engine/errors.js';
import { withCliHint } from '../../main/cli/hints.js';

describe('CLI hints for engine errors', () => {
  it('adds the flag or command that fixes it, by code', () => {
    expect(withCliHint(new UserFacingError('/m/sae.pt: the SAE does not record its layer').withCode('layer-required'))).toBe('/m/sae.pt: the SAE does not record its layer; pass --layer');
    expect(withCliHint(new UserFacingError('/l.sqlite holds no indexed images yet').withCode('not-indexed'))).toBe('/l.sqlite holds no indexed images yet (run clipscope index)');
    const many = (layerGiven: boolean) => new UserFacingError('/l.sqlite holds several configurations: #1: layer 2; #2: layer 2').withCode('ambiguous-config', { layerGiven });
    expect(withCliHint(many(false))).toBe('/l.sqlite holds several configurations, pass --layer or --config to pick one: #1: layer 2; #2: layer 2');
    expect(withCliHint(many(true))).toBe('/l.sqlite holds several configurations, pass --config to pick one: #1: layer 2; #2: layer 2');
    expect(withCliHint(new UserFacingError('"m" is used by the library /l.sqlite').withCode('model-in-use'))).toBe('"m" is used by the library /l.sqlite: pass --force to remove it anyway');
  });

  it('leaves other errors as they are', () => {
    expect(withCliHint(new UserFacingError('/x.jpg: truncated'))).toBe('/x.jpg: truncated');
  });
});
