import { describe, expect, it } from 'vitest';
import { parseLayers, pickSaeCheckpoint, destOf } from '../../../main/engine/models/bundle.js';
import { resolveEndpoint, resolveUrl, revisionUrl, tokenFromEnv } from '../../../main/engine/models/hub.js';
import { hubSha256, normalizeEtag } from '../../../main/engine/models/checksum.js';
import { parseContentRange } from '../../../main/engine/models/download.js';

describe('bundle planning helpers', () => {
  it('parses --layers against the published layers', () => {
    expect(parseLayers('22,11, 2,22')).toEqual([22, 11, 2]);
    expect(() => parseLayers('3')).toThrow('layer 3 has no CLIP-Scope SAE (layers: 2, 5, 8, 11, 14, 17, 20, 22)');
    expect(() => parseLayers('x')).toThrow(/"x" is not a layer/);
  });

  it('picks the final checkpoint of a layer by token count (numerically, not as text)', () => {
    const files = ['22_resid/900000000.pt', '22_resid/1200013184.pt', '2_resid/1200013184.pt', '22_resid/README.md', 'a/22_resid/2000000000.pt'];
    expect(pickSaeCheckpoint(files, 22)).toBe('22_resid/1200013184.pt');
    expect(pickSaeCheckpoint(files, 2)).toBe('2_resid/1200013184.pt');
    expect(pickSaeCheckpoint(files, 11)).toBeNull();
  });

  it('keeps the hub layout under the models folder', () => {
    expect(destOf('/m', 'lewington/CLIP-ViT-L-scope', '22_resid/1.pt')).toBe('/m/lewington/CLIP-ViT-L-scope/22_resid/1.pt');
  });
});

describe('hub addressing', () => {
  it('endpoint: explicit, else HF_ENDPOINT, else huggingface.co; no trailing slash', () => {
    expect(resolveEndpoint('http://127.0.0.1:9/', {})).toBe('http://127.0.0.1:9');
    expect(resolveEndpoint(null, { HF_ENDPOINT: 'https://hf-mirror.example/' })).toBe('https://hf-mirror.example');
    expect(resolveEndpoint(undefined, {})).toBe('https://huggingface.co');
    expect(() => resolveEndpoint('not a url', {})).toThrow(/invalid hub endpoint "not a url"/);
  });

  it('builds resolve and revision URLs like huggingface_hub', () => {
    expect(resolveUrl('https://huggingface.co', 'lewington/CLIP-ViT-L-scope', 'main', '22_resid/1200013184.pt'))
      .toBe('https://huggingface.co/lewington/CLIP-ViT-L-scope/resolve/main/22_resid/1200013184.pt');
    expect(resolveUrl('https://h', 'a/b', 'refs/pr/1', 'x y.json')).toBe('https://h/a/b/resolve/refs%2Fpr%2F1/x%20y.json');
    expect(revisionUrl('https://h', 'a/b', 'main')).toBe('https://h/api/models/a/b/revision/main?blobs=true');
  });

  it('token from HF_TOKEN, else HUGGING_FACE_HUB_TOKEN', () => {
    expect(tokenFromEnv({ HF_TOKEN: ' hf_1 ' })).toBe('hf_1');
    expect(tokenFromEnv({ HUGGING_FACE_HUB_TOKEN: 'hf_2' })).toBe('hf_2');
    expect(tokenFromEnv({})).toBeNull();
  });

  it('reads the sha256 from X-Linked-Etag, else the endpoint ETag; never a git id or a CDN ETag', () => {
    const sha = 'ab'.repeat(32);
    expect(normalizeEtag(`W/"${sha.toUpperCase()}"`)).toBe(sha);
    const hub = 'https://huggingface.co';
    expect(hubSha256([{ url: `${hub}/x`, status: 302, headers: { 'x-linked-etag': `"${sha}"`, etag: '"1234"' } }, { url: 'https://cdn/x', status: 200, headers: { etag: '"cd"' } }], hub)).toBe(sha);
    expect(hubSha256([{ url: `${hub}/x`, status: 200, headers: { etag: `"${sha}"` } }], hub)).toBe(sha);
    expect(hubSha256([{ url: `${hub}/x`, status: 200, headers: { etag: `"${'a'.repeat(40)}"` } }], hub)).toBeNull();
    expect(hubSha256([{ url: `${hub}/x`, status: 302, headers: {} }, { url: 'https://cdn/x', status: 200, headers: { etag: `"${sha}"` } }], hub)).toBeNull();
  });

  it('parses Content-Range', () => {
    expect(parseContentRange('bytes 100-199/1000')).toEqual({ start: 100, end: 199, total: 1000 });
    expect(parseContentRange('bytes 0-9/*')).toEqual({ start: 0, end: 9, total: null });
    expect(parseContentRange('items 1-2/3')).toBeNull();
  });
});
