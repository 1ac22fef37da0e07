/** One photo: what the model saw, its reconstruction numbers and strongest features. */
import { useQuery } from '@tanstack/react-query';
import { getRouteApi, Link } from '@tanstack/react-router';
import type { LibraryInfo } from '../../../common/contract/library-schemas.js';
import { engine, mediaUrl } from '../platform.js';
import { keys, useAppState } from '../queries.js';
import { RequireLibrary } from '../shell/Frame.js';
import { ErrorMessage, Stat } from '../ui/bits.js';
import { baseName, fixed, percent } from '../ui/format.js';

const route = getRouteApi('/image/$imageId');

export function ImageView() {
  const state = useAppState();
  return <RequireLibrary>{state.data?.library && <ImageDetails library={state.data.library} />}</RequireLibrary>;
}

function ImageDetails({ library }: { library: LibraryInfo }) {
  const { imageId } = route.useParams();
  const { layer } = route.useSearch();
  const id = Number(imageId);
  const valid = Number.isInteger(id) && id > 0;
  const details = useQuery({
    queryKey: [...keys.lib, 'image', library.file, id, layer ?? null],
    queryFn: () => engine['image.get']({ imageId: id, layer }),
    enabled: valid,
  });
  if (!valid) return <div className="view-pad"><p className="message message-error" role="alert">"{imageId}" is not a photo id.</p></div>;
  const d = details.data;
  return (
    <div className="view-pad image-view">
      <div className="section-head">
        <h1 className="h-title" title={d?.file}>{d ? baseName(d.file) : `Photo ${id}`}</h1>
        <Link to="/library" className="btn btn-small btn-quiet">Back to the library</Link>
      </div>
      <ErrorMessage error={details.error} />
      <div className="image-body">
        <figure className="model-crop">
          <img src={mediaUrl('thumb', id)} alt="The model's centre crop" />
          <figcaption className="muted small">The 224 × 224 centre crop the model saw. <a href={mediaUrl('photo', id)} target="_blank" rel="noreferrer">Full photo</a></figcaption>
        </figure>
        {d && (
          <div className="image-side">
            <section className="card">
              <div className="muted small path">{d.file}</div>
              <div className="stats">
                <Stat label="MSE" value={fixed(d.mse, 4)} tip="Reconstruction error of this photo: mean over tokens and dimensions of (x − x̂)²" />
                <Stat label="EV" value={percent(d.ev, 1)} tip="Explained variance of this photo's activations" />
                <Stat label="L0" value={d.l0.toFixed(1)} tip="Mean active features per token" />
              </div>
              <p className="muted small">
                Layer {d.layer}
                {d.width && d.height ? ` · ${d.width} × ${d.height} px` : ''}
                {d.removed ? ' · no longer on disk' : ''}
              </p>
            </section>
            <section className="card">
              <h2>Strongest CLS features</h2>
              {d.cls.length === 0 ? (
                <p className="muted">No feature fires on this photo's CLS token.</p>
              ) : (
                <ol className="feature-list">
                  {d.cls.slice(0, 12).map((f) => (
                    <li key={f.feature}>
                      <Link to="/feature/$id" params={{ id: String(f.feature) }} search={{ token: 'cls', layer }}>Feature {f.feature}</Link>
                      <span className="bar" aria-hidden><span style={{ width: `${Math.max(2, (f.act / d.cls[0]!.act) * 100)}%` }} /></span>
                      <span className="num" title="SAE activation">{f.act.toFixed(3)}</span>
                    </li>
                  ))}
                </ol>
              )}
              <p className="muted small">The token-by-token inspector (16 × 16 patch grid, heat overlays) comes next.</p>
            </section>
          </div>
        )}
      </div>
    </div>
  );
}
