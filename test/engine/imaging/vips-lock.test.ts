import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { VipsLock } from '../../../main/engine/imaging/vips-lock.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('VipsLock', () => {
  it('runs shared calls together and a call alone with nothing else running', async () => {
    const lock = new VipsLock();
    const log: string[] = [];
    let running = 0;
    let most = 0;
    const call = (name: string, ms: number) => async () => {
      running++;
      most = Math.max(most, running);
      log.push(`${name}+${running}`);
      await sleep(ms);
      running--;
      log.push(`${name}-`);
      return name;
    };
    const a = lock.shared(call('a', 60));
    const b = lock.shared(call('b', 60));
    await sleep(10);
    const alone = lock.alone(call('alone', 30));
    await sleep(10);
    const c = lock.shared(call('c', 10)); // asked while `alone` waits: runs after it
    expect(await Promise.all([a, b, alone, c])).toEqual(['a', 'b', 'alone', 'c']);
    expect(log.indexOf('alone+1')).toBeGreaterThan(Math.max(log.indexOf('a-'), log.indexOf('b-')));
    expect(log.indexOf('c+1')).toBeGreaterThan(log.indexOf('alone-'));
    expect(most).toBe(2);
  });

  it('retries a failed call alone and gives that outcome', async () => {
    const lock = new VipsLock();
    let calls = 0;
    await expect(lock.retryAloneOnError(async () => {
      calls++;
      if (calls === 1) throw new Error('garbled');
      return 'clean';
    })).resolves.toBe('clean');
    await expect(lock.retryAloneOnError(async () => {
      throw new Error(`failed ${++calls}`);
    })).rejects.toThrow('failed 4'); // the second try's error, not the first's
  });

  it('holds across threads sharing its buffer', async () => {
    const lock = new VipsLock();
    const events = new Int32Array(new SharedArrayBuffer(64 * 4)); // [count, e1, e2, ...]
    // A worker holds a shared call for 150 ms; our call alone must start after it ended.
    const worker = new Worker(`
      const { workerData, parentPort } = require('node:worker_threads');
      const s = new Int32Array(workerData.lock);
      const ev = workerData.events;
      Atomics.add(s, 0, 1);
      ev[1 + Atomics.add(ev, 0, 1)] = 1; // shared call started
      parentPort.postMessage('in');
      setTimeout(() => {
        ev[1 + Atomics.add(ev, 0, 1)] = 2; // shared call ended
        if (Atomics.sub(s, 0, 1) === 1) Atomics.notify(s, 0);
        parentPort.postMessage('out');
      }, 150);
    `, { eval: true, workerData: { lock: lock.buffer, events } });
    await new Promise((r) => worker.once('message', r));
    await lock.alone(async () => {
      events[1 + Atomics.add(events, 0, 1)] = 3; // alone started
    });
    await worker.terminate();
    expect(Array.from(events.subarray(1, 1 + events[0]!))).toEqual([1, 2, 3]);
  });
});
