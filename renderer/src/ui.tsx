import { useId, type ReactNode } from 'react';
import type { CallState } from './hooks.js';

export function Panel({ title, busy, children }: { title: string; busy?: boolean; children: ReactNode }) {
  const headingId = useId();
  return (
    <section className="panel" aria-labelledby={headingId} aria-busy={busy ?? false}>
      <h2 id={headingId}>{title}</h2>
      {children}
    </section>
  );
}

interface TextFieldProps {
  label: string;
  value: string;
  onChange: (value: string) => void;
  hint?: string;
  placeholder?: string;
  required?: boolean;
  inputMode?: 'numeric';
  pattern?: string;
}

export function TextField({ label, value, onChange, hint, ...input }: TextFieldProps) {
  const id = useId();
  const hintId = `${id}-hint`;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        type="text"
        value={value}
        onChange={(event) => onChange(event.target.value)}
        aria-describedby={hint ? hintId : undefined}
        spellCheck={false}
        autoComplete="off"
        {...input}
      />
      {hint ? (
        <p id={hintId} className="hint">
          {hint}
        </p>
      ) : null}
    </div>
  );
}

/** The running / failed line under a form; announced to screen readers as it changes. */
export function CallStatus({ state, runningText }: { state: CallState<unknown>; runningText: string }) {
  return (
    <>
      <p className="status" role="status" aria-live="polite">
        {state.status === 'running' ? runningText : ''}
      </p>
      {state.status === 'failed' ? (
        <p className="error" role="alert">
          {state.message}
        </p>
      ) : null}
    </>
  );
}

export function DefinitionList({ rows }: { rows: ReadonlyArray<readonly [string, ReactNode]> }) {
  return (
    <dl className="definitions">
      {rows.map(([term, value]) => (
        <div key={term}>
          <dt>{term}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

export function formatNumber(value: number, digits = 4): string {
  if (value === 0) return '0';
  const magnitude = Math.abs(value);
  return magnitude >= 1e-3 && magnitude < 1e6 ? value.toFixed(digits) : value.toExponential(digits - 1);
}
