import { describe, expect, it } from 'vitest';
import { externalUrlToOpen, isAppUrl, secureWebPreferences } from '../../main/electron/security.js';

describe('secureWebPreferences', () => {
  it('isolates and sandboxes the page, with no Node and no webviews', () => {
    expect(secureWebPreferences('/app/out/preload/index.cjs')).toMatchObject({
      preload: '/app/out/preload/index.cjs',
      contextIsolation: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      sandbox: true,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
    });
  });
});

describe('isAppUrl', () => {
  const built = 'file:///opt/CLIP-Scope/resources/app/out/renderer/index.html';
  const dev = 'http://localhost:5173/';

  it('accepts the built index.html with any query or hash, and nothing else on disk', () => {
    expect(isAppUrl(built, built)).toBe(true);
    expect(isAppUrl(`${built}#/encode`, built)).toBe(true);
    expect(isAppUrl(`${built}?tab=model`, built)).toBe(true);
    expect(isAppUrl('file:///etc/passwd', built)).toBe(false);
    expect(isAppUrl('file:///opt/CLIP-Scope/resources/app/out/renderer/other.html', built)).toBe(false);
    expect(isAppUrl('https://example.com/index.html', built)).toBe(false);
  });

  it('accepts the dev server origin only', () => {
    expect(isAppUrl('http://localhost:5173/src/App.tsx', dev)).toBe(true);
    expect(isAppUrl('http://localhost:5174/', dev)).toBe(false);
    expect(isAppUrl('http://127.0.0.1:5173/', dev)).toBe(false);
    expect(isAppUrl('https://localhost:5173/', dev)).toBe(false);
  });

  it('rejects what is not a URL', () => {
    expect(isAppUrl('not a url', built)).toBe(false);
    expect(isAppUrl(built, 'not a url')).toBe(false);
  });
});

describe('externalUrlToOpen', () => {
  it('hands http(s) links to the OS browser and nothing else', () => {
    expect(externalUrlToOpen('https://huggingface.co/openai/clip-vit-base-patch16')).toBe(
      'https://huggingface.co/openai/clip-vit-base-patch16',
    );
    expect(externalUrlToOpen('http://example.com')).toBe('http://example.com/');
    for (const url of ['file:///etc/passwd', 'javascript:alert(1)', 'smb://host/share', 'ms-settings:', 'nonsense']) {
      expect(externalUrlToOpen(url)).toBeNull();
    }
  });
});
