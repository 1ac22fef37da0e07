/** Nearest library photos before | after an edit, side by side, with how each one's rank moved. */
import { Link } from '@tanstack/react-router';
import { Thumb } from './Thumb.js';
import { baseName } from './format.js';

interface Neighbour {
  imageId: number;
  file: string;
  score: number;
}

export function NeighbourLists({ before, after }: { before: Neighbour[]; after: Neighbour[] }) {
  const rankBefore = new Map(before.map((n, i) => [n.imageId, i]));
  const rankAfter = new Map(after.map((n, i) => [n.imageId, i]));
  const same = before.length === after.length && before.every((n, i) => after[i]?.imageId === n.imageId);
  return (
    <div className="neighbours">
      <p className="muted small neighbours-note">
        Nearest photos in the library by embedding cosine (the photo itself left out).{' '}
        {same ? 'The edit leaves their order unchanged.' : 'Arrows: places moved up or down after the edit.'}
      </p>
      <div className="neighbours-cols">
        <section aria-labelledby="nb-before">
          <h3 id="nb-before" className="neighbours-title">Before</h3>
          <ol className="neighbour-list" data-testid="neighbours-before">
            {before.map((n, i) => (
              <Row key={n.imageId} n={n} rank={i} delta={rankAfter.has(n.imageId) ? null : 'gone'} />
            ))}
          </ol>
        </section>
        <section aria-labelledby="nb-after">
          <h3 id="nb-after" className="neighbours-title">After</h3>
          <ol className="neighbour-list" data-testid="neighbours-after">
            {after.map((n, i) => {
              const was = rankBefore.get(n.imageId);
              return <Row key={n.imageId} n={n} rank={i} delta={was === undefined ? 'new' : was - i} />;
            })}
          </ol>
        </section>
      </div>
    </div>
  );
}

function Row({ n, rank, delta }: { n: Neighbour; rank: number; delta: number | 'new' | 'gone' | null }) {
  const name = baseName(n.file);
  return (
    <li className="neighbour" data-file={n.file} data-image-id={n.imageId} data-score={n.score}>
      <span className="neighbour-rank muted small num">{rank + 1}</span>
      <Link to="/image/$imageId" params={{ imageId: String(n.imageId) }} className="tile neighbour-thumb" title={n.file}>
        <Thumb imageId={n.imageId} alt={name} />
      </Link>
      <span className="neighbour-name small min0" title={n.file}>{name}</span>
      <span className="num small" title="Cosine between the two photos' embeddings">{n.score.toFixed(4)}</span>
      <Delta delta={delta} />
    </li>
  );
}

function Delta({ delta }: { delta: number | 'new' | 'gone' | null }) {
  if (delta === null) return <span className="delta" />;
  if (delta === 'new') return <span className="delta delta-new" title="Not among the nearest before the edit">new</span>;
  if (delta === 'gone') return <span className="delta delta-gone" title="No longer among the nearest after the edit">gone</span>;
  if (delta === 0) return <span className="delta delta-same" title="Same place">=</span>;
  return delta > 0 ? (
    <span className="delta delta-up" title={`Up ${delta} ${delta === 1 ? 'place' : 'places'}`} aria-label={`up ${delta}`}>↑{delta}</span>
  ) : (
    <span className="delta delta-down" title={`Down ${-delta} ${delta === -1 ? 'place' : 'places'}`} aria-label={`down ${-delta}`}>↓{-delta}</span>
  );
}
