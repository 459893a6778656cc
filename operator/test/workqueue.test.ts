import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WorkQueue } from '../src/kube/workqueue.js';

describe('WorkQueue', () => {
  it('holds a waiting key once however often it is added', async () => {
    const queue = new WorkQueue();
    queue.add('alpha');
    queue.add('alpha');
    queue.add('beta');
    assert.equal(queue.depth, 2);
    assert.equal(await queue.get(), 'alpha');
    assert.equal(await queue.get(), 'beta');
    assert.equal(queue.depth, 0);
  });

  it('serialises a key and requeues it when done', async () => {
    const queue = new WorkQueue();
    queue.add('alpha');
    const key = await queue.get();
    queue.add('alpha');
    assert.equal(queue.depth, 0, 'not queued while in progress');
    let second: string | undefined;
    void queue.get().then((value) => (second = value));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(second, undefined, 'a second worker waits');
    queue.done(key as string);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(second, 'alpha', 'handed out again after done');
  });

  it('retries a failing key with growing delays and forgets them on success', () => {
    const queue = new WorkQueue({ baseDelayMs: 100, maxDelayMs: 1000, retriesPerSecond: 1000, retryBurst: 1000 });
    const delays = [1, 2, 3, 4, 5].map(() => queue.addRateLimited('alpha'));
    assert.deepEqual(delays, [100, 200, 400, 800, 1000]);
    queue.forget('alpha');
    assert.equal(queue.addRateLimited('alpha'), 100);
    queue.shutDown();
  });

  it('spreads retries of many keys through the token bucket', () => {
    const queue = new WorkQueue({ baseDelayMs: 1, maxDelayMs: 1000, retriesPerSecond: 10, retryBurst: 5 });
    const delays = Array.from({ length: 10 }, (_, index) => queue.addRateLimited(`key-${index}`));
    assert.deepEqual(delays.slice(0, 5), [1, 1, 1, 1, 1], 'the burst passes');
    assert.ok(delays[9]! >= 450, `the tenth retry waits for tokens (${delays[9]} ms)`);
    queue.shutDown();
  });

  it('wakes waiting workers with undefined on shutdown', async () => {
    const queue = new WorkQueue();
    const waiting = queue.get();
    queue.shutDown();
    assert.equal(await waiting, undefined);
    queue.add('late');
    assert.equal(queue.depth, 0);
  });
});
