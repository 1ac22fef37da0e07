/** Indexing: start (model + SAE), progress, pause / resume / cancel, the summary and the failures. */
import { memo, useMemo, useRef, useState } from 'react';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Progress } from 'radix-ui';
import { Pause, Play, Square, Zap } from 'lucide-react';
import type { IndexJob, IndexStatus } from '../../../common/contract/indexing-schemas.js';
import type { LibraryInfo } from '../../../common/contract/library-schemas.js';
import { engine, transport } from '../platform.js';
import { setIndexStatus, useFailures, useIndexStatus, useModels } from '../queries.js';
import { CopyButton, ErrorMessage, Stat, Tip } from '../ui/bits.js';
import { bytes, duration } from '../ui/format.js';
import { PHASE_LABEL, jobFraction } from './indexing-text.js';

export function IndexingCard({ library }: { library: LibraryInfo }) {
  const status = useIndexStatus();
  const job = status.data?.job ?? null;
  const active = job && (job.state === 'running' || job.state === 'queued' || job.state === 'paused');
  return (
    <section className="card" id="indexing" aria-labelledby="indexing-title" data-testid="indexing">
      <h2 id="indexing-title">Indexing</h2>
      <ErrorMessage error={status.error} />
      {job && <JobView job={job} resumable={status.data?.resumable ?? []} />}
      {!active && status.data && <StartForm library={library} status={status.data} />}
      {transport === 'ipc' && <BackgroundSetting />}
      <Failures />
    </section>
  );
}

function JobView({ job, resumable }: { job: IndexJob; resumable: number[] }) {
  const control = useMutation({
    mutationFn: (what: 'pause' | 'cancel' | 'resume') =>
      what === 'pause'
        ? engine['index.pause'](undefined)
        : what === 'cancel'
          ? engine['index.cancel'](undefined)
          : engine['index.resume']({ jobId: resumable.includes(job.id) ? job.id : resumable[resumable.length - 1]! }),
    onSuccess: setIndexStatus,
  });
  const running = job.state === 'running' || job.state === 'queued';
  const fraction = jobFraction(job);
  const canResume = job.state === 'paused' || (job.state !== 'running' && resumable.length > 0);
  return (
    <div className="job" data-testid="job" data-state={job.state} data-phase={job.phase}>
      {running || job.state === 'paused' ? (
        <>
          <div className="job-line">
            <strong data-testid="job-phase">{job.state === 'paused' ? 'Paused' : PHASE_LABEL[job.phase]}</strong>
            <span className="muted" data-testid="job-count">
              {job.total === null ? `${job.done} so far (counting…)` : `${job.done.toLocaleString()} / ${job.total.toLocaleString()}`}
            </span>
          </div>
          <Progress.Root className="progress" value={fraction === null ? null : Math.round(fraction * 100)} max={100} aria-label={`${PHASE_LABEL[job.phase]} progress`}>
            <Progress.Indicator
              className={`progress-bar${fraction === null ? ' indeterminate' : ''}`}
              style={{ transform: `translateX(-${100 - Math.round((fraction ?? 0.3) * 100)}%)` }}
            />
          </Progress.Root>
          <div className="job-meta muted small">
            <Tip content="Recent throughput of this phase">
              <span tabIndex={0}>{job.rate === null ? '— images/s' : `${job.rate.toFixed(1)} images/s`}</span>
            </Tip>
            <Tip content="Time left at the recent rate">
              <span tabIndex={0}>{job.etaSeconds === null ? 'ETA —' : job.etaSeconds < 1 ? 'almost done' : `about ${duration(job.etaSeconds)} left`}</span>
            </Tip>
            {job.failed > 0 && <span className="text-error">{job.failed} failed so far</span>}
          </div>
          {job.current && (
            <div className="muted small path current" title={job.current}>
              <bdi>{job.current}</bdi>
            </div>
          )}
        </>
      ) : (
        <Summary job={job} />
      )}
      <ErrorMessage error={control.error} />
      <div className="row">
        {running && (
          <>
            <button type="button" className="btn btn-small" disabled={control.isPending} onClick={() => control.mutate('pause')}>
              <Pause size={14} aria-hidden /> Pause
            </button>
            <button type="button" className="btn btn-small btn-quiet" disabled={control.isPending} onClick={() => control.mutate('cancel')}>
              <Square size={14} aria-hidden /> Cancel
            </button>
          </>
        )}
        {canResume && resumable.length > 0 && (
          <button type="button" className="btn btn-small btn-primary" disabled={control.isPending} onClick={() => control.mutate('resume')}>
            <Play size={14} aria-hidden /> Resume
          </button>
        )}
      </div>
    </div>
  );
}

/**
 * The desktop app's choice of what closing the window does to a running job: pause it after its
 * batch (resumed on the next start), or let it finish first. The web mode has no window to close.
 */
function BackgroundSetting() {
  const client = useQueryClient();
  const settings = useQuery({ queryKey: ['settings'], queryFn: () => engine['settings.get'](undefined), staleTime: Infinity });
  const change = useMutation({
    mutationFn: (keep: boolean) => engine['settings.set']({ keepIndexingInBackground: keep }),
    onSuccess: (s) => client.setQueryData(['settings'], s),
  });
  if (!settings.data) return <ErrorMessage error={settings.error} />;
  const keep = change.isPending && change.variables !== undefined ? change.variables : settings.data.keepIndexingInBackground;
  return (
    <div className="field" data-testid="background-setting">
      <label className="check">
        <input type="checkbox" checked={keep} disabled={change.isPending} onChange={(e) => change.mutate(e.target.checked)} />
        <span>Keep indexing after the window closes</span>
      </label>
      <p className="muted small">
        {keep
          ? 'Closing the window lets the running job finish; CLIP-Scope quits when it is done.'
          : 'Closing the window pauses the running job after its current batch; it resumes at the next start.'}
      </p>
      <ErrorMessage error={change.error} />
    </div>
  );
}

const SUMMARY_TIPS = {
  indexed: 'New or changed photos encoded in this run',
  unchanged: 'Photos already in the library with the same content: skipped',
  moved: 'Photos found at a new path with the same content: their results were kept',
  removed: 'Photos no longer on disk',
  failed: 'Files that could not be read or decoded (see the list below)',
} as const;

function Summary({ job }: { job: IndexJob }) {
  const title =
    job.state === 'done' ? 'Last run finished' : job.state === 'cancelled' ? 'Last run cancelled' : job.state === 'failed' ? 'Last run failed' : 'Last run';
  return (
    <div className="summary" data-testid="summary">
      <div className="job-line">
        <strong data-testid="summary-title">{title}</strong>
        {job.layer !== null && <span className="muted small">layer {job.layer}</span>}
      </div>
      {job.error && <ErrorMessage error={new Error(job.error)} />}
      {job.summary && (
        <div className="stats stats-5">
          {(Object.keys(SUMMARY_TIPS) as (keyof typeof SUMMARY_TIPS)[]).map((k) => (
            <div key={k} data-testid={`summary-${k}`} data-value={job.summary![k]}>
              <Stat label={k} value={job.summary![k].toLocaleString()} tip={`${SUMMARY_TIPS[k]} (photos)`} />
            </div>
          ))}
        </div>
      )}
    </div>
  );
}

function StartForm({ library, status }: { library: LibraryInfo; status: IndexStatus }) {
  const models = useModels();
  const vision = useMemo(() => (models.data ?? []).filter((m) => m.kind === 'vision' && m.present), [models.data]);
  const saes = useMemo(() => (models.data ?? []).filter((m) => m.kind === 'sae' && m.present), [models.data]);
  const last = library.configs[library.configs.length - 1];
  const [model, setModel] = useState<string | null>(null);
  const [sae, setSae] = useState<string | null>(null);
  const chosenModel = model ?? (vision.find((m) => m.path === last?.modelDir) ?? vision[0])?.path ?? '';
  const chosenSae = sae ?? (saes.find((m) => m.path === last?.saePath) ?? saes[0])?.path ?? '';
  const start = useMutation({
    mutationFn: () => engine['index.start']({ model: chosenModel, sae: chosenSae }),
    onSuccess: setIndexStatus,
  });
  if (models.error) return <ErrorMessage error={models.error} title="The installed models could not be listed." />;
  if (!models.data) return null;
  if (vision.length === 0 || saes.length === 0) {
    return (
      <p className="message message-info">
        No {vision.length === 0 ? 'vision model' : 'SAE'} is installed. Run <code>clipscope models download</code> or{' '}
        <code>clipscope models import DIR</code> in a terminal (see the start screen), then come back.
      </p>
    );
  }
  const noFolders = library.folders.length === 0;
  return (
    <form
      className="start-form"
      onSubmit={(e) => {
        e.preventDefault();
        start.mutate();
      }}
    >
      <div className="form-grid">
        <label className="field">
          <span>Vision model</span>
          <select name="model" value={chosenModel} onChange={(e) => setModel(e.target.value)}>
            {vision.map((m) => (
              <option key={m.path} value={m.path}>
                {m.name} ({bytes(m.size)}){m.demo ? ' · random weights' : ''}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>SAE and layer</span>
          <select name="sae" value={chosenSae} onChange={(e) => setSae(e.target.value)}>
            {saes.map((m) => (
              <option key={m.path} value={m.path}>
                {m.name} · layer {m.layer ?? '?'} ({bytes(m.size)}){m.demo ? ' · random weights' : ''}
              </option>
            ))}
          </select>
        </label>
      </div>
      <ErrorMessage error={start.error} title="Indexing could not start." />
      <div className="row">
        <button type="submit" className="btn btn-primary" disabled={start.isPending || noFolders}>
          <Zap size={14} aria-hidden /> {status.job ? 'Index again' : 'Index'}
        </button>
        <span className="muted small">
          {noFolders ? 'Add a folder first.' : 'Only new or changed photos are encoded; re-runs are quick.'}
        </span>
      </div>
    </form>
  );
}

// Memoised: the card above re-renders with every progress event (4 a second), the list only when
// the failures change.
const Failures = memo(function Failures() {
  const [filter, setFilter] = useState('');
  const failures = useFailures();
  const list = useMemo(() => failures.data ?? [], [failures.data]);
  const shown = useMemo(() => {
    const q = filter.trim().toLowerCase();
    return q ? list.filter((f) => f.file.toLowerCase().includes(q) || f.error.toLowerCase().includes(q)) : list;
  }, [list, filter]);
  const text = useMemo(() => shown.map((f) => `${f.file}\t${f.error}`).join('\n'), [shown]);
  if (failures.error) return <ErrorMessage error={failures.error} title="The failed files could not be listed." />;
  if (list.length === 0) return null;
  return (
    <div className="failures" data-testid="failures">
      <div className="job-line">
        <strong>
          {list.length} {list.length === 1 ? 'file' : 'files'} could not be indexed
        </strong>
        <CopyButton text={text} label="Copy list" />
      </div>
      <input type="search" className="filter" placeholder="Filter by file or reason" value={filter} onChange={(e) => setFilter(e.target.value)} aria-label="Filter failed files" />
      <FailureList shown={shown} filter={filter} />
    </div>
  );
});

/**
 * The failed files in their scrolling box, virtualised: a run can fail on thousands of files, and
 * only the dozen rows in view are in the page (rows may wrap: each is measured once drawn).
 */
function FailureList({ shown, filter }: { shown: { file: string; error: string }[]; filter: string }) {
  const box = useRef<HTMLDivElement>(null);
  const rows = useVirtualizer({ count: shown.length, getScrollElement: () => box.current, estimateSize: () => 44, overscan: 6, useFlushSync: false });
  if (shown.length === 0) return <p className="muted small">No failed file matches "{filter}".</p>;
  return (
    <div className="failure-list" ref={box}>
      <ul className="list" style={{ position: 'relative', height: rows.getTotalSize() }}>
        {rows.getVirtualItems().map((r) => {
          const f = shown[r.index]!;
          return (
            <li key={f.file} ref={rows.measureElement} data-index={r.index} className="failure" style={{ position: 'absolute', top: 0, left: 0, right: 0, transform: `translateY(${r.start}px)` }}>
              <div className="path small" title={f.file}>{f.file}</div>
              <div className="text-error small">{f.error}</div>
            </li>
          );
        })}
      </ul>
    </div>
  );
}
