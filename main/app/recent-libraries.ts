/**
 * The app's memory between launches: recently opened libraries (most recent first), a job to
 * resume when its library opens again, and the user's settings. One small JSON file in the per-user data folder,
 * replaced atomically; a damaged file is treated as empty (it holds nothing precious).
 */
import fs from 'node:fs';
import path from 'node:path';
import { dataDir } from '../engine/runtime/paths.js';

const MAX_RECENT = 12;

export interface RecentEntry {
  file: string;
  openedAt: number;
}

export interface AppSettings {
  /** Closing the window lets a running indexing job finish (the app quits after it) instead of pausing it. */
  keepIndexingInBackground: boolean;
}

const DEFAULT_SETTINGS: AppSettings = { keepIndexingInBackground: false };

interface SettingsFile {
  version: 1;
  recent: RecentEntry[];
  /** Library file -> job paused because the app closed, resumed when the library opens. */
  resumeOnOpen: Record<string, number>;
  settings: AppSettings;
}

function settingsFrom(s: unknown): AppSettings {
  const o = typeof s === 'object' && s !== null ? (s as Partial<Record<keyof AppSettings, unknown>>) : {};
  return {
    keepIndexingInBackground: typeof o.keepIndexingInBackground === 'boolean' ? o.keepIndexingInBackground : DEFAULT_SETTINGS.keepIndexingInBackground,
  };
}

export class RecentLibraries {
  constructor(private readonly file: string = path.join(dataDir(), 'app-settings.json')) {}

  private read(): SettingsFile {
    try {
      const s = JSON.parse(fs.readFileSync(this.file, 'utf8')) as Partial<SettingsFile>;
      return {
        version: 1,
        recent: Array.isArray(s.recent) ? s.recent.filter((r) => typeof r?.file === 'string' && typeof r.openedAt === 'number') : [],
        resumeOnOpen: typeof s.resumeOnOpen === 'object' && s.resumeOnOpen !== null ? s.resumeOnOpen : {},
        settings: settingsFrom(s.settings),
      };
    } catch {
      return { version: 1, recent: [], resumeOnOpen: {}, settings: { ...DEFAULT_SETTINGS } };
    }
  }

  private write(s: SettingsFile): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, `${JSON.stringify(s, null, 2)}\n`);
    fs.renameSync(tmp, this.file);
  }

  list(): RecentEntry[] {
    return this.read().recent;
  }

  touch(file: string): void {
    const s = this.read();
    s.recent = [{ file, openedAt: Date.now() }, ...s.recent.filter((r) => r.file !== file)].slice(0, MAX_RECENT);
    this.write(s);
  }

  forget(file: string): void {
    const s = this.read();
    s.recent = s.recent.filter((r) => r.file !== file);
    delete s.resumeOnOpen[file];
    this.write(s);
  }

  /** Takes (and clears) the job to resume for this library. */
  takeResume(file: string): number | null {
    const s = this.read();
    const job = s.resumeOnOpen[file];
    if (job === undefined) return null;
    delete s.resumeOnOpen[file];
    this.write(s);
    return job;
  }

  setResume(file: string, jobId: number): void {
    const s = this.read();
    s.resumeOnOpen[file] = jobId;
    this.write(s);
  }

  settings(): AppSettings {
    return this.read().settings;
  }

  /** Changes the given settings, keeps the others; returns them all. */
  updateSettings(patch: Partial<AppSettings>): AppSettings {
    const s = this.read();
    s.settings = settingsFrom({ ...s.settings, ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) });
    this.write(s);
    return s.settings;
  }
}
