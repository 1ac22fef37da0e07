/**
 * Models on the start screen: download CLIP ViT-L/14 and the CLIP-Scope SAE layers (progress from
 * `models.download` events, cancel, resume, the engine's failure reasons, retry), register model
 * files the user already has, and the installed list with removal.
 */
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { CircleCheck, Download, FolderInput, Package, Trash2, TriangleAlert } from 'lucide-react';
import type { DownloadStatus, InstalledModel } from '../../../common/contract/models-schemas.js';
import { engine } from '../platform.js';
import { EngineCallError } from '../../../common/contract/client.js';
import { downloadEventCount, keys, setDownloadAnswer, useDownloadStatus, useModels } from '../queries.js';
import { Badge, CopyButton, ErrorMessage } from '../ui/bits.js';
import { bytes, duration } from '../ui/format.js';

/** The layers CLIP-Scope publishes an SAE for, and the one the model card recommends first. */
export const SCOPE_LAYERS = [2, 5, 8, 11, 14, 17, 20, 22] as const;
const VISION_GB = 1.7;
const SAE_GB = 0.5;

interface Request {
  layers: number[];
  vision: boolean;
}

export function ModelsSection() {
  return (
    <section className="card models" aria-labelledby="models-title" data-testid="models">
      <h2 id="models-title" className="models-title">
        <Package size={18} aria-hidden /> Get the CLIP-Scope models
      </h2>
      <div className="models-body">
        <DownloadPanel />
        <div className="models-side">
          <ImportPanel />
          <TerminalHint />
        </div>
      </div>
      <InstalledList />
    </section>
  );
}

function DownloadPanel() {
  const models = useModels();
  const status = useDownloadStatus();
  const [layers, setLayers] = useState<number[]>([22]);
  const [visionChoice, setVisionChoice] = useState<boolean | null>(null);
  const [last, setLast] = useState<Request | null>(null);
  const installed = models.data ?? [];
  const hasVision = installed.some((m) => m.kind === 'vision' && !m.demo && m.present);
  const installedLayers = new Set(installed.filter((m) => m.kind === 'sae' && !m.demo && m.present && m.layer !== null).map((m) => m.layer!));
  const vision = visionChoice ?? !hasVision;
  const gb = (vision ? VISION_GB : 0) + SAE_GB * layers.length;
  const start = useMutation({
    mutationFn: async (r: Request) => {
      setLast(r);
      const since = downloadEventCount();
      setDownloadAnswer(await engine['models.download'](r), since);
    },
  });
  const cancel = useMutation({
    mutationFn: async () => {
      const since = downloadEventCount();
      setDownloadAnswer(await engine['models.cancelDownload'](undefined), since);
    },
  });
  const s = status.data;
  const running = s?.state === 'running';
  const toggle = (l: number) => setLayers((ls) => (ls.includes(l) ? ls.filter((x) => x !== l) : [...ls, l].sort((a, b) => a - b)));
  const nothing = layers.length === 0 && !vision;
  const parts = [
    ...(vision ? ['1.7 GB for ViT-L/14'] : []),
    ...(layers.length > 0 ? [`${layers.length} × 0.5 GB for the SAE${layers.length === 1 ? '' : 's'} of layer${layers.length === 1 ? '' : 's'} ${layers.join(', ')}`] : []),
  ];

  return (
    <div className="models-download">
      <h3 className="models-sub">
        <Download size={16} aria-hidden /> Download from Hugging Face
      </h3>
      <fieldset className="plain" disabled={running}>
        <legend className="field-legend">SAE layers (residual stream after block N; one SAE each, about 0.5 GB)</legend>
        <div className="chips" role="group" aria-label="SAE layers to download">
          {SCOPE_LAYERS.map((l) => (
            <button
              key={l}
              type="button"
              className={`chip${layers.includes(l) ? ' active' : ''}`}
              aria-pressed={layers.includes(l)}
              data-layer={l}
              title={installedLayers.has(l) ? `An SAE for layer ${l} is installed` : undefined}
              onClick={() => toggle(l)}
            >
              Layer {l}
              {installedLayers.has(l) && <CircleCheck size={12} aria-label="installed" className="chip-check" />}
            </button>
          ))}
        </div>
        <label className="check">
          <input type="checkbox" checked={vision} onChange={(e) => setVisionChoice(e.target.checked)} />
          <span>
            CLIP ViT-L/14 vision model (LAION-2B), about 1.7 GB{hasVision ? ' · already installed' : ''}
          </span>
        </label>
      </fieldset>
      <p className="small" data-testid="download-estimate">
        {nothing ? (
          <span className="muted">Choose at least one layer or the vision model.</span>
        ) : (
          <>
            About <strong>{gb.toFixed(1)} GB</strong> to download ({parts.join(' + ')}). Files already downloaded are
            not fetched again; every file is checked against its published sha256.
          </>
        )}
      </p>
      <ErrorMessage error={start.error ?? cancel.error} title="The download could not start." />
      <div className="row">
        <button type="button" className="btn btn-primary" disabled={running || nothing || start.isPending} onClick={() => start.mutate({ layers, vision })}>
          <Download size={16} aria-hidden /> {nothing ? 'Download' : `Download about ${gb.toFixed(1)} GB`}
        </button>
      </div>
      {s && s.state !== 'idle' && (
        <DownloadProgress
          status={s}
          cancelling={cancel.isPending}
          onCancel={() => cancel.mutate()}
          onRetry={() => start.mutate(last ?? { layers, vision })}
          retrying={start.isPending}
        />
      )}
      {status.error && <ErrorMessage error={status.error} title="The download's state could not be read." />}
    </div>
  );
}

function DownloadProgress({ status: s, onCancel, onRetry, cancelling, retrying }: { status: DownloadStatus; onCancel: () => void; onRetry: () => void; cancelling: boolean; retrying: boolean }) {
  const fraction = s.total ? Math.min(1, s.bytes / s.total) : null;
  const title = { idle: '', running: 'Downloading…', done: 'Download finished', failed: 'Download failed', cancelled: 'Download cancelled' }[s.state];
  return (
    <div className="download" data-testid="download" data-state={s.state} aria-live="polite">
      <div className="job-line">
        <strong data-testid="download-title">{title}</strong>
        {s.state === 'running' && (
          <button type="button" className="btn btn-small" onClick={onCancel} disabled={cancelling}>
            Cancel
          </button>
        )}
        {(s.state === 'failed' || s.state === 'cancelled') && (
          <button type="button" className="btn btn-small btn-primary" onClick={onRetry} disabled={retrying}>
            {s.state === 'failed' ? 'Retry' : 'Resume'}
          </button>
        )}
      </div>
      {(s.state === 'running' || s.bytes > 0) && (
        <div
          className="progress"
          role="progressbar"
          aria-label="Download progress"
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={fraction === null ? undefined : Math.round(fraction * 100)}
        >
          <div
            className={`progress-bar${fraction === null && s.state === 'running' ? ' indeterminate' : ''}`}
            style={fraction === null ? undefined : { transform: `translateX(${(fraction - 1) * 100}%)` }}
          />
        </div>
      )}
      <div className="job-meta small">
        <span className="num" data-testid="download-bytes" title="Bytes on disk of the whole download, of its total size">
          {bytes(s.bytes)}
          {s.total !== null ? ` of ${bytes(s.total)}` : ''}
          {fraction !== null ? ` (${Math.floor(fraction * 100)} %)` : ''}
        </span>
        {s.state === 'running' && s.rate !== null && <span className="num" title="Transfer rate over the last few seconds">{bytes(s.rate)}/s</span>}
        {s.state === 'running' && s.etaSeconds !== null && <span className="num" title="Estimated time left at this rate">{duration(s.etaSeconds)} left</span>}
      </div>
      {s.state === 'running' && s.current && (
        <div className="small muted current" data-testid="download-current" title={s.current}>
          <bdi>{s.phase === 'verify' ? 'Checking the sha256 of ' : 'Fetching '}{s.current}</bdi>
        </div>
      )}
      {s.endpoint && <div className="small muted">From {s.endpoint}</div>}
      {s.state === 'cancelled' && (
        <p className="message message-info" data-testid="download-resume">
          Stopped. What was fetched stays on disk: Resume (or Download again with the same choices) carries on where it
          stopped, also after a restart of the app.
        </p>
      )}
      {s.failed.length > 0 && (
        <div className="message message-error" role="alert" data-testid="download-failed">
          <TriangleAlert size={16} aria-hidden />
          <div>
            <strong>{s.failed.length === 1 ? 'One model' : `${s.failed.length} models`} could not be downloaded.</strong>
            <ul className="plain-list">
              {s.failed.map((f, i) => (
                <li key={`${f.name}-${i}`}>
                  <strong>{f.name}</strong>: <span className="error-text">{f.error}</span>
                </li>
              ))}
            </ul>
            <div className="small">
              {failureHint(s.failed.map((f) => f.error).join(' '))} Retry carries on from the files already fetched.
            </div>
          </div>
        </div>
      )}
      {s.installed.length > 0 && (
        <p className="small" data-testid="download-installed">
          <CircleCheck size={14} aria-hidden className="ok-icon" /> Installed: {s.installed.join(', ')}
        </p>
      )}
      {s.notes.length > 0 && (
        <ul className="plain-list small muted">
          {s.notes.map((n, i) => (
            <li key={i}>{n}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** What the user can do about the engine's reason. */
function failureHint(reasons: string): string {
  if (/401|403|token|unauthori[sz]ed|forbidden|access/i.test(reasons)) {
    return 'The hub refused access: set HF_TOKEN to a Hugging Face token that can read these repositories, then restart the app.';
  }
  if (/space|ENOSPC|disk/i.test(reasons)) return 'Free some disk space (or choose fewer layers), then retry.';
  if (/sha256|checksum|corrupt/i.test(reasons)) return 'A file did not match its published checksum and was discarded.';
  if (/network|ENOTFOUND|ECONNREFUSED|ECONNRESET|timed? ?out|reach|offline|fetch failed/i.test(reasons)) {
    return 'Check the internet connection (or HF_ENDPOINT for a mirror).';
  }
  return '';
}

function ImportPanel() {
  const client = useQueryClient();
  const [path, setPath] = useState('');
  const [touched, setTouched] = useState(false);
  const action = useMutation({
    mutationFn: (p: string) => engine['models.import']({ path: p }),
    onSuccess: () => void client.invalidateQueries({ queryKey: keys.models }),
  });
  const trimmed = path.trim();
  const localError = touched && trimmed === '' ? 'Type the path of a model folder or an SAE file.' : null;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setTouched(true);
    if (trimmed !== '') action.mutate(trimmed);
  };
  const r = action.data;
  return (
    <form className="models-import" onSubmit={submit} noValidate>
      <h3 className="models-sub">
        <FolderInput size={16} aria-hidden /> Use model files I already have
      </h3>
      <p className="small muted">
        A CLIP model folder (config.json and weights), an SAE checkpoint (.pt), or a folder holding several. They are
        registered where they are: nothing is copied or moved.
      </p>
      <label className="field">
        <span>Model folder or SAE file</span>
        <input
          type="text"
          name="model-path"
          value={path}
          placeholder="/path/to/models"
          spellCheck={false}
          autoComplete="off"
          aria-invalid={Boolean(localError || action.error)}
          aria-describedby="model-path-error"
          onChange={(e) => {
            setPath(e.target.value);
            action.reset();
          }}
        />
      </label>
      <div id="model-path-error">
        {localError && <p className="field-error">{localError}</p>}
        <ErrorMessage error={action.error} title="Nothing was imported." />
      </div>
      <div className="row">
        <button type="submit" className="btn" disabled={action.isPending}>
          {action.isPending ? 'Importing…' : 'Import'}
        </button>
      </div>
      {r && (
        <div className="import-result small" data-testid="import-result" aria-live="polite">
          {r.imported.length === 0 ? (
            <p>No model was imported.</p>
          ) : (
            <p>
              <CircleCheck size={14} aria-hidden className="ok-icon" /> Imported:{' '}
              {r.imported.map((m) => `${m.name} (${kindText(m)})`).join(', ')}
            </p>
          )}
          {r.skipped.length > 0 && (
            <ul className="plain-list" data-testid="import-skipped">
              {r.skipped.map((s) => (
                <li key={s.path}>
                  Skipped <span className="path">{s.path}</span>: {s.reason}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </form>
  );
}

function TerminalHint() {
  return (
    <div className="terminal-hint">
      <div className="small muted">Or in a terminal:</div>
      <Command command="clipscope models download" label="Download (resumable, checksummed)" />
      <Command command="clipscope models import DIR" label="Use model files I already have" />
    </div>
  );
}

function Command({ label, command }: { label: string; command: string }) {
  return (
    <div className="command">
      <div className="muted small">{label}</div>
      <div className="command-row">
        <code>{command}</code>
        <CopyButton text={command} ariaLabel={`Copy the command ${command}`} />
      </div>
    </div>
  );
}

function kindText(m: InstalledModel): string {
  return m.kind === 'vision' ? 'vision model' : `SAE, layer ${m.layer ?? '?'}`;
}

function InstalledList() {
  const models = useModels();
  const client = useQueryClient();
  const [confirming, setConfirming] = useState<InstalledModel | null>(null);
  const remove = useMutation({
    mutationFn: ({ name, force }: { name: string; force: boolean }) => engine['models.remove']({ name, force }),
    onSuccess: (list) => {
      client.setQueryData(keys.models, list);
      setConfirming(null);
    },
  });
  const verify = useMutation({ mutationFn: () => engine['models.verify']({}) });
  const checked = new Map((verify.data?.models ?? []).map((r) => [r.name, r]));
  const list = models.data ?? [];
  return (
    <div className="installed">
      <div className="row">
        <h3 className="models-sub grow">Installed</h3>
        {list.length > 0 && (
          <button type="button" className="btn btn-small btn-quiet" disabled={verify.isPending} onClick={() => verify.mutate()} title="Compare every file with its recorded size and sha256 checksum">
            {verify.isPending ? 'Checking…' : 'Check files'}
          </button>
        )}
      </div>
      <ErrorMessage error={verify.error} title="The files could not be checked." />
      <ErrorMessage error={models.error} title="The installed models could not be listed." />
      {list.length === 0 && models.data && <p className="muted small">No models yet.</p>}
      <ul className="list" data-testid="installed-models">
        {list.map((m) => (
          <li key={m.name} className="list-row" data-testid="installed-model" data-name={m.name}>
            <div className="grow min0">
              <div className="row">
                <strong>{m.name}</strong>
                <span className="muted small">{kindText(m)} · {bytes(m.size)}</span>
                {m.demo && <Badge tone="warn">Random weights</Badge>}
                {m.builtIn && <Badge title="Shipped with the app; cannot be removed">Built in</Badge>}
                {!m.present && <Badge tone="error" title="Some of its files are missing">Files missing</Badge>}
                {checked.get(m.name)?.ok === true && <Badge tone="ok" title="Sizes and sha256 checksums match">Files OK</Badge>}
                {checked.get(m.name)?.ok === false && <Badge tone="error" title={checked.get(m.name)!.problems.join('\n')}>Damaged</Badge>}
              </div>
              <div className="muted small path" title={m.path}>{m.path}</div>
              {checked.get(m.name)?.ok === false && <p className="message message-error error-text small" data-testid="verify-problems">{checked.get(m.name)!.problems.join('; ')}</p>}
            </div>
            {!m.builtIn && (
              <button type="button" className="btn btn-small btn-quiet" aria-label={`Remove ${m.name}`} onClick={() => { remove.reset(); setConfirming(m); }}>
                <Trash2 size={14} aria-hidden /> Remove
              </button>
            )}
          </li>
        ))}
      </ul>
      <ConfirmRemove model={confirming} pending={remove.isPending} error={remove.error} onCancel={() => setConfirming(null)} onConfirm={(m, force) => remove.mutate({ name: m.name, force })} />
    </div>
  );
}

function ConfirmRemove({ model, pending, error, onCancel, onConfirm }: { model: InstalledModel | null; pending: boolean; error: unknown; onCancel: () => void; onConfirm: (m: InstalledModel, force: boolean) => void }) {
  // Libraries were indexed with it: the engine says which; the user may still remove it.
  const inUse = error instanceof EngineCallError && error.code === 'model-in-use';
  const ref = useRef<HTMLDialogElement>(null);
  const shown = useRef<InstalledModel | null>(null);
  if (model) shown.current = model;
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (model && !d.open) d.showModal();
    if (!model && d.open) d.close();
  }, [model]);
  const m = shown.current;
  return (
    <dialog ref={ref} className="dialog" onClose={onCancel} aria-labelledby="remove-title">
      <h2 id="remove-title">Remove {m?.name}?</h2>
      <p>
        It leaves the installed list.{' '}
        {m?.managed ? 'Its files, which the app downloaded or copied, are deleted from disk.' : 'Its files were imported where they are and stay there.'}{' '}
        Libraries already indexed with it keep their results.
      </p>
      {m && <p className="path muted">{m.path}</p>}
      {inUse ? (
        <p className="message message-warn error-text" role="alert">{(error as Error).message}. Re-indexing those libraries will need it again.</p>
      ) : (
        <ErrorMessage error={error} title="It was not removed." />
      )}
      <div className="row row-end">
        <button type="button" className="btn" onClick={onCancel} autoFocus>
          Keep it
        </button>
        <button type="button" className="btn btn-danger" disabled={pending || !m} onClick={() => m && onConfirm(m, inUse)}>
          {inUse ? 'Remove anyway' : 'Remove'}
        </button>
      </div>
    </dialog>
  );
}
