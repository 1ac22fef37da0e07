import { useId, useState, type FormEvent } from 'react';
import type { EncodeImageRequest, EncodeImageResult, EngineInfo } from '../../../common/contract/index.js';
import { call } from '../api.js';
import { useEngineCall, useRememberedText } from '../hooks.js';
import { CallStatus, DefinitionList, Panel, TextField, formatNumber } from '../ui.js';

const encode = (request: EncodeImageRequest) => call('encode.image', request);

interface EncodePanelProps {
  info: EngineInfo | null;
  modelPath: string;
  onModelPathChange: (path: string) => void;
  saePath: string;
  onSaePathChange: (path: string) => void;
}

export function EncodePanel({ info, modelPath, onModelPathChange, saePath, onSaePathChange }: EncodePanelProps) {
  const [file, setFile] = useRememberedText('encode.file');
  const [layer, setLayer] = useState('');
  const [provider, setProvider] = useState('');
  const providerId = useId();
  const [state, run] = useEngineCall(encode);

  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const request: EncodeImageRequest = { file: file.trim(), model: modelPath.trim(), sae: saePath.trim() };
    // A malformed layer is sent as typed: the engine's validation names the field in its reply.
    if (layer.trim() !== '') request.layer = Number(layer.trim());
    if (provider !== '') request.provider = provider;
    void run(request);
  };

  return (
    <Panel title="Encode" busy={state.status === 'running'}>
      <form onSubmit={submit}>
        <TextField label="Image file" value={file} onChange={setFile} required />
        <TextField label="CLIP model folder" value={modelPath} onChange={onModelPathChange} required />
        <TextField label="SAE path" value={saePath} onChange={onSaePathChange} required />
        <div className="field-row">
          <TextField
            label="Layer"
            value={layer}
            onChange={setLayer}
            hint="Empty: the SAE's own layer."
            inputMode="numeric"
            pattern="[0-9]*"
          />
          <div className="field">
            <label htmlFor={providerId}>Provider</label>
            <select id={providerId} value={provider} onChange={(event) => setProvider(event.target.value)}>
              <option value="">Automatic</option>
              {(info?.providers ?? []).map((p) => (
                <option key={p.name} value={p.name} disabled={!p.available}>
                  {p.available ? p.name : `${p.name} (unavailable)`}
                </option>
              ))}
            </select>
          </div>
        </div>
        <div className="actions">
          <button type="submit" disabled={state.status === 'running'}>
            Encode
          </button>
        </div>
      </form>
      <CallStatus state={state} runningText="Encoding the image…" />
      {state.status === 'done' ? <EncodeResult result={state.value} /> : null}
    </Panel>
  );
}

function EncodeResult({ result }: { result: EncodeImageResult }) {
  return (
    <>
      <DefinitionList
        rows={[
          ['Image', <code>{result.file}</code>],
          ['Layer', result.layer],
          ['Provider', result.provider],
          ['Tokens', result.tokens],
          ['Explained variance', formatNumber(result.ev)],
          ['Reconstruction MSE', formatNumber(result.mse)],
        ]}
      />
      <table>
        <caption>Strongest SAE features on the CLS token</caption>
        <thead>
          <tr>
            <th scope="col" className="number">
              Rank
            </th>
            <th scope="col" className="number">
              Feature
            </th>
            <th scope="col" className="number">
              Activation
            </th>
          </tr>
        </thead>
        <tbody>
          {result.clsTop.map((entry, rank) => (
            <tr key={entry.feature}>
              <td className="number">{rank + 1}</td>
              <th scope="row" className="number">
                {entry.feature}
              </th>
              <td className="number">{formatNumber(entry.value)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
