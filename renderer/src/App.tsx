import { useEffect } from 'react';
import { call } from './api.js';
import { useEngineCall, useRememberedText } from './hooks.js';
import { EncodePanel } from './panels/EncodePanel.js';
import { EnginePanel } from './panels/EnginePanel.js';
import { ModelPanel } from './panels/ModelPanel.js';

const loadEngineInfo = () => call('engine.info', undefined);

export function App() {
  const [info, refreshInfo] = useEngineCall(loadEngineInfo);
  useEffect(() => {
    void refreshInfo();
  }, [refreshInfo]);

  // Shared so that an inspected model or SAE can be sent straight to the Encode panel.
  const [modelPath, setModelPath] = useRememberedText('encode.model');
  const [saePath, setSaePath] = useRememberedText('encode.sae');

  return (
    <>
      <header className="app-header">
        <h1>CLIP-Scope</h1>
        <p>Sparse autoencoder features of CLIP, on your own images.</p>
      </header>
      <main className="panels">
        <EnginePanel state={info} onRefresh={() => void refreshInfo()} />
        <ModelPanel onUseAsModel={setModelPath} onUseAsSae={setSaePath} />
        <EncodePanel
          info={info.status === 'done' ? info.value : null}
          modelPath={modelPath}
          onModelPathChange={setModelPath}
          saePath={saePath}
          onSaePathChange={setSaePath}
        />
      </main>
    </>
  );
}
