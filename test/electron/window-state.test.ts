import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_BOUNDS, loadBounds, saveBounds } from '../../main/electron/window-state.js';

const file = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'clipscope-window-')), 'window.json');

describe('window bounds', () => {
  it('comes back as saved when the position is still on a screen', () => {
    const f = file();
    saveBounds(f, { x: 40, y: 60, width: 1400, height: 900, maximized: true });
    expect(loadBounds(f, () => true)).toEqual({ x: 40, y: 60, width: 1400, height: 900, maximized: true });
  });

  it('drops a position no display shows any more, keeping the size', () => {
    const f = file();
    saveBounds(f, { x: 5000, y: 60, width: 1400, height: 900 });
    expect(loadBounds(f, (b) => b.x < 1920)).toEqual({ width: 1400, height: 900, maximized: false });
  });

  it('falls back to the default for a missing, damaged or absurd file', () => {
    expect(loadBounds(path.join(os.tmpdir(), 'no-such-dir', 'w.json'), () => true)).toEqual(DEFAULT_BOUNDS);
    const f = file();
    fs.writeFileSync(f, '{not json');
    expect(loadBounds(f, () => true)).toEqual(DEFAULT_BOUNDS);
    fs.writeFileSync(f, JSON.stringify({ width: 10, height: 10 }));
    expect(loadBounds(f, () => true)).toEqual(DEFAULT_BOUNDS);
  });
});
