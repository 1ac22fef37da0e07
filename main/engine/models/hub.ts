import { DownloadError, ModelRegistryError } from './errors.js';
import { httpRequest, readBody, type HttpSettings } from './http.js';
import { hubSha256, hubSize, isSha256 } from './checksum.js';

export const DEFAULT_ENDPOINT = 'https://huggingface.co';

/** `--endpoint`, else `HF_ENDPOINT`, else the public hub; no trailing slash. */
export function resolveEndpoint(explicit?: string | null, env: NodeJS.ProcessEnv = process.env): string {
  const raw = (explicit || env['HF_ENDPOINT'] || DEFAULT_ENDPOINT).trim();
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ModelRegistryError(`invalid hub endpoint "${raw}" (expected a URL such as ${DEFAULT_ENDPOINT})`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new ModelRegistryError(`invalid hub endpoint "${raw}" (http or https only)`);
  }
  return u.toString().replace(/\/+$/, '');
}

/** `HF_TOKEN` (or the older `HUGGING_FACE_HUB_TOKEN`), when set. */
export function tokenFromEnv(env: NodeJS.ProcessEnv = process.env): string | null {
  return env['HF_TOKEN']?.trim() || env['HUGGING_FACE_HUB_TOKEN']?.trim() || null;
}

const encodePath = (p: string): string => p.split('/').map(encodeURIComponent).join('/');

/** `{endpoint}/{repo}/resolve/{revision}/{path}`, as huggingface_hub's hf_hub_url builds it. */
export function resolveUrl(endpoint: string, repo: string, revision: string, file: string): string {
  return `${endpoint}/${encodePath(repo)}/resolve/${encodeURIComponent(revision)}/${encodePath(file)}`;
}

/** `{endpoint}/api/models/{repo}/revision/{revision}` (with `blobs=true`: sizes and LFS sha256). */
export function revisionUrl(endpoint: string, repo: string, revision: string): string {
  return `${endpoint}/api/models/${encodePath(repo)}/revision/${encodeURIComponent(revision)}?blobs=true`;
}

export interface HubSibling {
  readonly path: string;
  readonly size: number | null;
  /** LFS files only. */
  readonly sha256: string | null;
}

export interface RepoListing {
  readonly repo: string;
  readonly revision: string;
  /** The commit the revision points to, when the hub says (downloads then pin it). */
  readonly commit: string | null;
  readonly files: ReadonlyMap<string, HubSibling>;
}

export interface RemoteFileInfo {
  readonly size: number | null;
  readonly sha256: string | null;
}

/** The few hub calls the model manager needs, over plain HTTP(S). */
export class HubClient {
  readonly origin: string;

  constructor(
    readonly endpoint: string,
    private readonly settings: Omit<HttpSettings, 'tokenOrigin'>,
  ) {
    this.origin = new URL(endpoint).origin;
  }

  get http(): HttpSettings {
    return { ...this.settings, tokenOrigin: this.origin };
  }

  get hasToken(): boolean {
    return Boolean(this.settings.token);
  }

  resolveUrl(repo: string, revision: string, file: string): string {
    return resolveUrl(this.endpoint, repo, revision, file);
  }

  /** The repo's file listing at a revision; throws DownloadError (kind 'listing' when the API is not there). */
  async listRevision(repo: string, revision: string): Promise<RepoListing> {
    const url = revisionUrl(this.endpoint, repo, revision);
    const what = `the file listing of ${repo}@${revision}`;
    const res = await httpRequest(url, { what, headers: { accept: 'application/json' } }, this.http);
    if (res.status !== 200) {
      res.body.resume();
      if (res.status === 401 || res.status === 403) {
        throw new DownloadError('auth', `${what}: access denied by ${this.endpoint} (HTTP ${res.status}); ${this.hasToken ? 'check HF_TOKEN' : 'set HF_TOKEN if the repository is gated or private'}`);
      }
      throw new DownloadError(res.status === 404 ? 'listing' : 'http', `${what} is unavailable at ${this.endpoint} (HTTP ${res.status})`, res.status >= 500);
    }
    const body = await readBody(res, this.http, what);
    let json: { sha?: unknown; siblings?: unknown };
    try {
      json = JSON.parse(body.toString('utf8')) as typeof json;
    } catch {
      throw new DownloadError('listing', `${what} from ${this.endpoint} is not valid JSON`);
    }
    if (!Array.isArray(json.siblings)) throw new DownloadError('listing', `${what} from ${this.endpoint} has no "siblings" list`);
    const files = new Map<string, HubSibling>();
    for (const s of json.siblings as { rfilename?: unknown; size?: unknown; lfs?: { sha256?: unknown; size?: unknown } }[]) {
      if (typeof s?.rfilename !== 'string') continue;
      const size = typeof s.lfs?.size === 'number' ? s.lfs.size : typeof s.size === 'number' ? s.size : null;
      files.set(s.rfilename, { path: s.rfilename, size, sha256: isSha256(s.lfs?.sha256) ? s.lfs.sha256 : null });
    }
    const commit = typeof json.sha === 'string' && /^[0-9a-f]{40}$/.test(json.sha) ? json.sha : null;
    return { repo, revision, commit, files };
  }

  /**
   * HEAD on the resolve URL: size and sha256 before downloading (for the free-space check and to
   * skip files already in place), and 404 / 401 before any large transfer starts. Returns null
   * when the server does not answer HEAD usefully (the GET will tell).
   */
  async fileInfo(repo: string, revision: string, file: string): Promise<RemoteFileInfo | null> {
    const url = this.resolveUrl(repo, revision, file);
    const what = `${repo}/${file}`;
    // Like huggingface_hub: the redirect to the CDN is not followed (a signed URL may not allow
    // HEAD); the hub's own answer carries X-Linked-Size and X-Linked-Etag.
    const res = await httpRequest(url, { method: 'HEAD', what, sameOriginRedirectsOnly: true }, this.http);
    res.body.resume();
    if (res.status === 404) throw new DownloadError('not-found', `${what} not found at ${this.endpoint}`);
    if (res.status === 401 || res.status === 403) {
      throw new DownloadError('auth', `${what}: access denied by ${this.endpoint} (HTTP ${res.status}): the repository is gated or private; ${this.hasToken ? 'check that HF_TOKEN is valid and has been granted access' : 'set HF_TOKEN to an access token that has been granted access'}`);
    }
    if (res.status !== 200 && !(res.status >= 300 && res.status < 400)) return null;
    const size = hubSize(res.hops);
    return { size, sha256: hubSha256(res.hops, this.origin) };
  }
}
