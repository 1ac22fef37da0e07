import type { Migration } from '../migrate.js';
import m001 from './001-initial.js';
import m002 from './002-jobs.js';
import m003 from './003-compact-latents.js';

/** Every migration, in order: append new ones at the end (version = position + 1). */
export const MIGRATIONS: readonly Migration[] = [m001, m002, m003];
