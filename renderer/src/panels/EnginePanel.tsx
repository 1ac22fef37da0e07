import type { EngineInfo } from '../../../common/contract/index.js';
import type { CallState } from '../hooks.js';
import { CallStatus, DefinitionList, Panel } from '../ui.js';

export function EnginePanel({ state, onRefresh }: { state: CallState<EngineInfo>; onRefresh: () => void }) {
  return (
    <Panel title="Engine" busy={state.status === 'running'}>
      {state.status === 'done' ? (
        <>
          <DefinitionList
            rows={[
              ['Version', state.value.version],
              ['Platform', state.value.platform],
            ]}
          />
          <table>
            <caption>Execution providers</caption>
            <thead>
              <tr>
                <th scope="col">Provider</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {state.value.providers.map((provider) => (
                <tr key={provider.name}>
                  <th scope="row">{provider.name}</th>
                  <td className={provider.available ? 'available' : 'unavailable'}>
                    {provider.available ? 'Available' : `Unavailable${provider.reason ? `: ${provider.reason}` : ''}`}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
      <CallStatus state={state} runningText="Asking the engine…" />
      <div className="actions">
        <button type="button" onClick={onRefresh} disabled={state.status === 'running'}>
          Refresh
        </button>
      </div>
    </Panel>
  );
}
