/**
 * Preload (sandboxed, bundled to one CommonJS file): exposes the engine client as
 * `window.clipscope` and nothing else; the page never sees `ipcRenderer`.
 */
import { contextBridge, ipcRenderer } from 'electron';
import { createEngineClient } from './client.js';

contextBridge.exposeInMainWorld(
  'clipscope',
  createEngineClient((channel, payload) => ipcRenderer.invoke(channel, payload)),
);
