/**
 * Builds the desktop app into out/: out/main/index.js (ESM), out/preload/index.cjs (CommonJS,
 * self-contained: sandboxed preloads cannot be ES modules and can require only `electron`),
 * out/renderer/ (the React page).
 */
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'electron-vite';
import type { Plugin } from 'vite';

const root = import.meta.dirname;

/**
 * Native addons load from node_modules at run time, never bundled. electron-vite already leaves
 * every `dependencies` entry external in main; naming these keeps that true if one moves.
 */
const NATIVE_DEPS = ['onnxruntime-node', 'better-sqlite3', 'sharp'];

/**
 * Entry points the engine starts by file name (worker threads, and the indexer's thumbnail
 * process), each built to out/main/<name>.js.
 */
const ENGINE_ENTRIES: Record<string, string> = {
  'inference-worker': 'main/engine/pipeline/inference-worker.ts',
  'preprocess-worker': 'main/engine/pipeline/preprocess-worker.ts',
  'decode-worker': 'main/engine/library/decode-worker.ts',
  'thumbnail-child': 'main/engine/library/thumbnail-child.ts',
  'steering-worker': 'main/engine/steering/steering-worker.ts',
  'similar-worker': 'main/engine/queries/similar-worker.ts',
  // The app's engine, in a utility process (main/electron/engine-process.ts).
  'engine-host': 'main/host/engine-host.ts',
  'query-worker': 'main/app/query-worker.ts',
};

export default defineConfig({
  main: {
    build: {
      externalizeDeps: { include: NATIVE_DEPS },
      rolldownOptions: {
        input: {
          index: resolve(root, 'main/electron/index.ts'),
          // The engine starts these from `<name>.js` beside its own module (worker-rpc.ts,
          // thumbnail-process.ts): in the bundle, beside out/main/index.js.
          ...Object.fromEntries(Object.entries(ENGINE_ENTRIES).map(([name, file]) => [name, resolve(root, file)])),
        },
        // Shared chunks in the same folder too (not chunks/), so `./<worker>.js` resolves from
        // whichever output file the engine's module ends up in.
        output: { chunkFileNames: '[name]-[hash].js' },
      },
    },
  },
  preload: {
    build: {
      // Bundle everything: a sandboxed preload has no access to node_modules.
      externalizeDeps: false,
      rolldownOptions: {
        input: { index: resolve(root, 'preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: resolve(root, 'renderer'),
    plugins: [react(), devCspNonce(), preloadStartupChunks(['src/mount.tsx', 'src/App.tsx'])],
    build: {
      // The page parses and runs its whole script before the first call leaves: minified, a
      // library opens ~0.3 s sooner on a 2-core machine (bench:ui).
      minify: true,
      rolldownOptions: { input: resolve(root, 'renderer/index.html') },
    },
  },
});

/**
 * The page starts in a chain of dynamic imports (renderer/src/main.tsx), each script running in
 * a task of its own. Without a hint the browser would fetch each script only once the one before
 * has run; these <link rel="modulepreload"> tags (files, not inline code: the CSP holds) have it
 * fetch and compile them alongside the first. `modules`: the chain's modules, from the renderer's
 * root, in the order the chain runs them.
 */
function preloadStartupChunks(modules: string[]): Plugin {
  let wanted: string[] = [];
  return {
    name: 'clipscope:preload-startup-chunks',
    apply: 'build',
    configResolved: (config) => void (wanted = modules.map((m) => resolve(config.root, m))),
    transformIndexHtml: {
      order: 'post',
      handler: (html, ctx) => {
        const chunks = Object.values(ctx.bundle ?? {}).flatMap((c) => (c.type === 'chunk' ? [c] : []));
        const byFile = new Map(chunks.map((c) => [c.fileName, c]));
        const files = new Set<string>();
        const add = (file: string) => {
          const chunk = byFile.get(file);
          if (!chunk || chunk.isEntry || files.has(file)) return;
          files.add(file);
          chunk.imports.forEach(add);
        };
        for (const m of wanted) {
          const chunk = chunks.find((c) => c.facadeModuleId === m);
          if (!chunk) throw new Error(`preloadStartupChunks: no chunk starts at ${m}`);
          add(chunk.fileName);
        }
        return [...files].map((file) => ({ tag: 'link', attrs: { rel: 'modulepreload', crossorigin: true, href: `./${file}` }, injectTo: 'head' as const }));
      },
    },
  };
}

/**
 * Dev server only: Vite injects inline <script> (the React Refresh preamble) and <style> tags
 * (CSS imported by modules, the error overlay) that the page's CSP (`'self'` only) would block.
 * Vite's `html.cspNonce` marks each of them with a per-server nonce; this adds that nonce to
 * script-src and style-src. The built page keeps exactly the policy in renderer/index.html.
 */
function devCspNonce(): Plugin {
  const nonce = randomBytes(16).toString('hex');
  return {
    name: 'clipscope:dev-csp-nonce',
    apply: 'serve',
    config: () => ({ html: { cspNonce: nonce } }),
    transformIndexHtml: {
      order: 'post',
      handler: (html) =>
        html
          .replace("script-src 'self'", `script-src 'self' 'nonce-${nonce}'`)
          .replace("style-src 'self'", `style-src 'self' 'nonce-${nonce}'`),
    },
  };
}
