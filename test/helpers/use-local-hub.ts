import { afterAll, beforeAll, beforeEach } from 'vitest';
import { HubServer, type HubFile } from './hub-server.js';

/**
 * A Hugging Face hub and a CDN on 127.0.0.1 for one test file: started once, put back as they
 * started before each test (files, faults, redirects, token, request log), closed at the end.
 */
export function useLocalHub(hubFiles: () => readonly HubFile[], cdnFiles: () => readonly HubFile[] = hubFiles): { readonly hub: HubServer; readonly cdn: HubServer } {
  let hub: HubServer | undefined;
  let cdn: HubServer | undefined;
  beforeAll(async () => {
    hub = await HubServer.start(hubFiles());
    cdn = await HubServer.start(cdnFiles());
  });
  afterAll(async () => {
    await hub?.close();
    await cdn?.close();
  });
  beforeEach(() => {
    hub!.reset();
    cdn!.reset();
  });
  return {
    get hub() {
      return hub!;
    },
    get cdn() {
      return cdn!;
    },
  };
}
