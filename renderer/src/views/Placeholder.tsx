/** A view of a later release: says what it will hold, and what works today. */
import type { ReactNode } from 'react';
import { Link } from '@tanstack/react-router';
import { Construction } from 'lucide-react';

export function Placeholder({ title, what, children }: { title: string; what: string; children: ReactNode }) {
  return (
    <div className="view-pad">
      <div className="empty placeholder" data-testid={`placeholder-${what}`}>
        <div className="empty-icon" aria-hidden>
          <Construction size={28} />
        </div>
        <h1 className="h-title">{title}: coming next</h1>
        <p className="placeholder-text">{children}</p>
        <p className="muted">
          Today you can index photos in the <Link to="/library">Library</Link>, see the reconstruction <Link to="/metrics">Metrics</Link>,
          and open a feature's gallery at <code>#/feature/&lt;id&gt;</code>. The CLI (<code>clipscope features</code>,{' '}
          <code>clipscope image</code>, <code>clipscope steer</code>) already has the rest.
        </p>
      </div>
    </div>
  );
}
