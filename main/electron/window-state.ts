/**
 * The main window's size and position, remembered between launches (a JSON file in the app's
 * user-data folder). A saved position that no display shows any more is dropped.
 */
import fs from 'node:fs';

export interface WindowBounds {
  x?: number;
  y?: number;
  width: number;
  height: number;
  maximized?: boolean;
}

export const DEFAULT_BOUNDS: WindowBounds = { width: 1280, height: 840 };

export function loadBounds(file: string, visible: (b: { x: number; y: number; width: number; height: number }) => boolean): WindowBounds {
  try {
    const b = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<WindowBounds>;
    if (typeof b.width !== 'number' || typeof b.height !== 'number' || b.width < 320 || b.height < 240) return DEFAULT_BOUNDS;
    const size = { width: Math.round(b.width), height: Math.round(b.height), maximized: b.maximized === true };
    if (typeof b.x === 'number' && typeof b.y === 'number' && visible({ x: b.x, y: b.y, width: size.width, height: size.height })) {
      return { ...size, x: Math.round(b.x), y: Math.round(b.y) };
    }
    return size;
  } catch {
    return DEFAULT_BOUNDS;
  }
}

export function saveBounds(file: string, b: WindowBounds): void {
  try {
    fs.writeFileSync(file, JSON.stringify(b));
  } catch {
    // Remembering the window is a nicety: a read-only profile folder must not stop quitting.
  }
}
