import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSubset } from '../src/reconcile/drift.js';

describe('isSubset', () => {
  it('ignores fields the server added', () => {
    const desired = { spec: { ports: [{ port: 8080 }] } };
    const live = { spec: { ports: [{ port: 8080, protocol: 'TCP' }], clusterIP: '10.96.0.10' }, status: {} };
    assert.equal(isSubset(desired, live), true);
  });

  it('sees a changed, missing or extra list item', () => {
    const desired = { args: ['a', 'b'] };
    assert.equal(isSubset(desired, { args: ['a', 'c'] }), false);
    assert.equal(isSubset(desired, { args: ['a'] }), false);
    assert.equal(isSubset(desired, { args: ['a', 'b', 'c'] }), false);
    assert.equal(isSubset(desired, {}), false);
  });

  it('compares numbers with their string form', () => {
    assert.equal(isSubset({ port: 8080 }, { port: '8080' }), true);
    assert.equal(isSubset({ port: 8080 }, { port: '8081' }), false);
  });

  it('treats an object replaced by a scalar as drift', () => {
    assert.equal(isSubset({ metadata: { labels: { a: '1' } } }, { metadata: { labels: 'a=1' } }), false);
    assert.equal(isSubset({ metadata: { labels: { a: '1' } } }, { metadata: { labels: null } }), false);
  });
});
