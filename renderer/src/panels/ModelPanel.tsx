import type { FormEvent, ReactNode } from 'react';
import type { ModelInspection } from '../../../common/contract/index.js';
import { call } from '../api.js';
import { useEngineCall, useRememberedText } from '../hooks.js';
import { CallStatus, DefinitionList, Panel, TextField } from '../ui.js';

const inspect = (path: string) => call('models.inspect', { path });

interface ModelPanelProps {
  onUseAsModel: (path: string) => void;
  onUseAsSae: (path: string) => void;
}

export function ModelPanel({ onUseAsModel, onUseAsSae }: ModelPanelProps) {
  const [path, setPath] = useRememberedText('inspect.path');
  const [state, run] = useEngineCall(inspect);

  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    void run(path.trim());
  };

  return (
    <Panel title="Model" busy={state.status === 'running'}>
      <form onSubmit={submit}>
        <TextField
          label="Model folder or SAE path"
          value={path}
          onChange={setPath}
          hint="A CLIP model folder (config.json + weights) or a sparse autoencoder file or folder."
          required
        />
        <div className="actions">
          <button type="submit" disabled={state.status === 'running'}>
            Inspect
          </button>
        </div>
      </form>
      <CallStatus state={state} runningText="Reading the model…" />
      {state.status === 'done' ? (
        <>
          <DefinitionList rows={inspectionRows(state.value)} />
          <div className="actions">
            {state.value.kind === 'vision' ? (
              <button type="button" onClick={() => onUseAsModel(state.value.path)}>
                Use as Encode model
              </button>
            ) : (
              <button type="button" onClick={() => onUseAsSae(state.value.path)}>
                Use as Encode SAE
              </button>
            )}
          </div>
        </>
      ) : null}
    </Panel>
  );
}

function inspectionRows(inspection: ModelInspection): Array<readonly [string, ReactNode]> {
  switch (inspection.kind) {
    case 'vision':
      return [
        ['Kind', 'CLIP vision tower'],
        ['Path', <code>{inspection.path}</code>],
        ['Architecture', inspection.architecture],
        ['Width', inspection.width],
        ['Layers', inspection.layers],
        ['Heads', inspection.heads],
        ['Patch size', inspection.patchSize],
        ['Image size', inspection.imageSize],
        ['Tokens per image', inspection.tokens],
        ['Projection width', inspection.projectionDim ?? 'none'],
        ['Hidden activation', inspection.hiddenAct],
        ['Weights file', <code>{inspection.weightsFile}</code>],
        ['Weights dtype', inspection.dtype],
      ];
    case 'sae':
      return [
        ['Kind', 'Sparse autoencoder'],
        ['Path', <code>{inspection.path}</code>],
        ['Format', inspection.format],
        ['Architecture', inspection.architecture],
        ['Input width', inspection.dIn],
        ['Features', inspection.nFeatures],
        ['k (active features)', inspection.k ?? 'not TopK'],
        ['Layer', inspection.layer ?? 'not recorded'],
      ];
  }
}
