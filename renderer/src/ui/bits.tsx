/** Small shared pieces: messages, tooltips, copy buttons, empty states. */
import { useState, type ReactNode } from 'react';
import { Tooltip as RTooltip } from 'radix-ui';
import { Check, Copy, TriangleAlert } from 'lucide-react';
import { errorText } from '../platform.js';

export function ErrorMessage({ error, title }: { error: unknown; title?: string }) {
  if (!error) return null;
  return (
    <div className="message message-error" role="alert">
      <TriangleAlert size={16} aria-hidden />
      <div>
        {title && <strong>{title} </strong>}
        <span className="error-text">{errorText(error)}</span>
      </div>
    </div>
  );
}

export function Tip({ content, children }: { content: ReactNode; children: ReactNode }) {
  return (
    <RTooltip.Root delayDuration={300}>
      <RTooltip.Trigger asChild>{children}</RTooltip.Trigger>
      <RTooltip.Portal>
        <RTooltip.Content className="tooltip" sideOffset={6} collisionPadding={8}>
          {content}
        </RTooltip.Content>
      </RTooltip.Portal>
    </RTooltip.Root>
  );
}

/** A number with its meaning in a tooltip. */
export function Stat({ label, value, tip }: { label: string; value: ReactNode; tip: ReactNode }) {
  return (
    <Tip content={tip}>
      <div className="stat" tabIndex={0}>
        <span className="stat-value">{value}</span>
        <span className="stat-label">{label}</span>
      </div>
    </Tip>
  );
}

export function CopyButton({ text, label = 'Copy', ariaLabel }: { text: string; label?: string; ariaLabel?: string }) {
  const [state, setState] = useState<'idle' | 'done' | 'failed'>('idle');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setState('done');
    } catch {
      setState('failed');
    }
    setTimeout(() => setState('idle'), 2000);
  };
  return (
    <button type="button" className="btn btn-small btn-quiet" onClick={() => void copy()} aria-label={ariaLabel ?? label}>
      {state === 'done' ? <Check size={14} aria-hidden /> : <Copy size={14} aria-hidden />}
      {state === 'done' ? 'Copied' : state === 'failed' ? 'Select and copy by hand' : label}
    </button>
  );
}

export function EmptyState({ icon, title, children }: { icon?: ReactNode; title: string; children?: ReactNode }) {
  return (
    <div className="empty">
      {icon && <div className="empty-icon" aria-hidden>{icon}</div>}
      <h3>{title}</h3>
      {children}
    </div>
  );
}

export function Badge({ children, tone = 'neutral', title }: { children: ReactNode; tone?: 'neutral' | 'warn' | 'error' | 'ok'; title?: string }) {
  return (
    <span className={`badge badge-${tone}`} title={title}>
      {children}
    </span>
  );
}
