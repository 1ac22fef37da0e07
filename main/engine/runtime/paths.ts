import os from 'node:os';
import path from 'node:path';

const APP = 'clipscope';

/** Per-user cache folder (regenerable files: built graphs, thumbnails). CLIPSCOPE_CACHE_DIR overrides. */
export function cacheDir(): string {
  const override = process.env['CLIPSCOPE_CACHE_DIR'];
  if (override) return path.resolve(override);
  const home = os.homedir();
  switch (process.platform) {
    case 'darwin':
      return path.join(home, 'Library', 'Caches', APP);
    case 'win32':
      return path.join(process.env['LOCALAPPDATA'] ?? path.join(home, 'AppData', 'Local'), APP, 'Cache');
    default:
      return path.join(process.env['XDG_CACHE_HOME'] ?? path.join(home, '.cache'), APP);
  }
}

/** Per-user data folder (libraries, installed models). CLIPSCOPE_DATA_DIR overrides. */
export function dataDir(): string {
  const override = process.env['CLIPSCOPE_DATA_DIR'];
  if (override) return path.resolve(override);
  const home = os.homedir();
  switch (process.platform) {
    case 'darwin':
      return path.join(home, 'Library', 'Application Support', APP);
    case 'win32':
      return path.join(process.env['APPDATA'] ?? path.join(home, 'AppData', 'Roaming'), APP);
    default:
      return path.join(process.env['XDG_DATA_HOME'] ?? path.join(home, '.local', 'share'), APP);
  }
}
