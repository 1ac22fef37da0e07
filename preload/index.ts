/**
 * Preload (sandboxed, bundled to one CommonJS file): exposes the bridge as `window.clipscope`
 * and nothing else; the page never sees `ipcRenderer`.
 */
import { contextBridge, ipcRenderer, webUtils } from 'electron';
import { createBridge } from './bridge.js';

contextBridge.exposeInMainWorld(
  'clipscope',
  createBridge(
    (channel, payload) => ipcRenderer.invoke(channel, payload),
    (channel, fn) => {
      const listener = (_event: unknown, payload: unknown): void => fn(payload);
      ipcRenderer.on(channel, listener);
      return () => {
        ipcRenderer.removeListener(channel, listener);
      };
    },
    (file) => webUtils.getPathForFile(file as File),
  ),
);
