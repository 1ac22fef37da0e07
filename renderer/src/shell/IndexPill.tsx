/** The frame's indexing pill: follows `index.status` events; a click opens the library's indexing panel. */
import { Link } from '@tanstack/react-router';
import { CircleAlert, CircleCheck, CirclePause, LoaderCircle } from 'lucide-react';
import { useIndexStatus } from '../queries.js';
import { PHASE_LABEL, jobFraction } from '../views/indexing-text.js';

export function IndexPill() {
  const { data } = useIndexStatus();
  const job = data?.job;
  if (!job) return null;
  let icon = <LoaderCircle size={14} className="spin" aria-hidden />;
  let text: string;
  let tone = 'running';
  if (job.state === 'running' || job.state === 'queued') {
    text = `${PHASE_LABEL[job.phase]}${job.total !== null ? ` ${job.done}/${job.total}` : '…'}`;
  } else if (job.state === 'paused') {
    icon = <CirclePause size={14} aria-hidden />;
    text = `Paused at ${job.done}/${job.total ?? '?'}`;
    tone = 'paused';
  } else if (job.state === 'failed') {
    icon = <CircleAlert size={14} aria-hidden />;
    text = 'Indexing failed';
    tone = 'failed';
  } else if (job.state === 'cancelled') {
    icon = <CirclePause size={14} aria-hidden />;
    text = 'Indexing cancelled';
    tone = 'paused';
  } else {
    icon = job.failed > 0 ? <CircleAlert size={14} aria-hidden /> : <CircleCheck size={14} aria-hidden />;
    text = job.failed > 0 ? `Indexed · ${job.failed} failed` : 'Indexed';
    tone = job.failed > 0 ? 'paused' : 'done';
  }
  const fraction = jobFraction(job);
  return (
    <Link to="/library" className={`pill pill-${tone}`} data-testid="index-pill" data-state={job.state} data-phase={job.phase} title="Indexing: open the details">
      {icon}
      <span>{text}</span>
      {(job.state === 'running' || job.state === 'paused') && fraction !== null && (
        <span className="pill-bar" aria-hidden>
          <span style={{ width: `${Math.round(fraction * 100)}%` }} />
        </span>
      )}
    </Link>
  );
}
