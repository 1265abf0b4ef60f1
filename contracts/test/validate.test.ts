import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertMessage, checkEvent, checkNewEvent, ContractError, decodeMessage, readablePath } from '../src/index.js';

const batch = {
  v: 1,
  stream: 'stream-0001',
  first: 7,
  last: 8,
  sentAt: 1_700_000_000_000,
  events: [
    { seq: 7, ts: 1_700_000_000_000, type: 'counts', device: 'loop-1', data: { lanes: { '1': 2 } } },
    { seq: 8, ts: 1_700_000_000_001, type: 'reading', device: 'loop-1', data: { values: { 'lane1.speed': 54.2 } } },
  ],
};

function decodeError(channel: Parameters<typeof decodeMessage>[0], payload: unknown): ContractError {
  const result = decodeMessage(channel, typeof payload === 'string' ? payload : JSON.stringify(payload));
  assert.equal(result.ok, false, 'expected a rejection');
  return (result as { ok: false; error: ContractError }).error;
}

describe('payload validation names the channel and the field', () => {
  it('accepts a valid batch', () => {
    const result = decodeMessage('events', JSON.stringify(batch));
    assert.ok(result.ok);
    assert.equal(result.value.events.length, 2);
  });

  const cases: [string, Parameters<typeof decodeMessage>[0], unknown, string, RegExp][] = [
    ['not JSON', 'events', '{"v":1,', '', /not valid JSON/],
    ['a wrong version', 'events', { ...batch, v: 2 }, 'v', /Expected 1|literal/i],
    ['a missing stream', 'events', { ...batch, stream: undefined }, 'stream', /Expected/],
    ['a seq below 1', 'events', { ...batch, first: 0, events: [{ ...batch.events[0], seq: 0 }] }, 'first', /greater or equal to 1/],
    ['first that is not the first event', 'events', { ...batch, first: 6 }, 'first', /events\[0\]\.seq is 7/],
    ['last that is not the last event', 'events', { ...batch, last: 9 }, 'last', /last event's seq is 8/],
    ['seqs that skip', 'events', { ...batch, last: 9, events: [batch.events[0], { ...batch.events[1], seq: 9 }] }, 'events[1].seq', /expected 8/],
    ['an empty batch', 'events', { ...batch, events: [] }, 'events', /minimum|at least|length/i],
    ['an extra field', 'events', { ...batch, admin: true }, 'admin', /Unexpected property|not be present/i],
    ['an unknown status', 'status', { v: 1, state: 'sleeping', ts: 1 }, 'state', /Expected union|Expected/],
    ['a negative upTo', 'synced', { v: 1, stream: 'stream-0001', upTo: -1, status: 'ok' }, 'upTo', /greater or equal to 0/],
    ['a command name with a wildcard', 'cmd', { v: 1, tx: 't1', name: 'ping#', args: {}, issuedAt: 1 }, 'name', /match/],
  ];
  for (const [what, channel, payload, path, problem] of cases) {
    it(`rejects ${what} on ${channel} at '${path || '(payload)'}'`, () => {
      const err = decodeError(channel, payload);
      assert.equal(err.subject, channel);
      assert.equal(err.path, path);
      assert.match(err.problem, problem);
      assert.ok(err.message.startsWith(`${channel}: ${path || '(payload)'}: `), err.message);
    });
  }

  it('checks each event of a batch on its own, so one bad event can be quarantined alone', () => {
    const decoded = decodeMessage('events', JSON.stringify({ ...batch, events: [batch.events[0], { seq: 8, type: 'counts', data: 'x' }] }));
    assert.ok(decoded.ok, 'the batch envelope is still valid');
    assert.equal(checkEvent(decoded.value.events[0]), undefined);
    const err = checkEvent(decoded.value.events[1], 'events[1]');
    assert.ok(err instanceof ContractError);
    assert.match(err.message, /^events\[1\]: (ts|data): /);
  });

  const badEvents: [string, unknown, string, RegExp][] = [
    ['an unknown type', { seq: 1, ts: 1, type: 'weather', device: 'd', data: {} }, 'type', /unknown event type 'weather'/],
    ['a device event without device', { seq: 1, ts: 1, type: 'counts', data: { lanes: {} } }, 'device', /required for 'counts'/],
    ['a negative lane count', { seq: 1, ts: 1, type: 'counts', device: 'd', data: { lanes: { '2': -3 } } }, 'data.lanes[2]', /greater or equal to 0/],
    ['a lane that is not a lane number', { seq: 1, ts: 1, type: 'counts', device: 'd', data: { lanes: { x: 1 } } }, 'data.lanes.x', /./],
    ['a reading value that is not a number', { seq: 1, ts: 1, type: 'reading', device: 'd', data: { values: { a: 'high' } } }, 'data.values.a', /Expected number/],
    ['a device id with a topic wildcard', { seq: 1, ts: 1, type: 'counts', device: 'a/#', data: { lanes: {} } }, 'device', /match/],
  ];
  for (const [what, event, path, problem] of badEvents) {
    it(`rejects an event with ${what} at '${path}'`, () => {
      const err = checkEvent(event);
      assert.ok(err, 'rejected');
      assert.equal(err.path, path);
      assert.match(err.problem, problem);
    });
  }

  it('an event before numbering has no seq; after numbering it must have one', () => {
    const fresh = { ts: 1, type: 'counts', device: 'd', data: { lanes: { '1': 1 } } };
    assert.equal(checkNewEvent(fresh), undefined);
    assert.equal(checkEvent(fresh)?.path, 'seq');
    assert.equal(checkNewEvent({ ...fresh, seq: 3 })?.path, 'seq');
  });

  it('assertMessage throws the named error before something invalid is sent', () => {
    assert.throws(() => assertMessage('synced', { v: 1, stream: 'short', upTo: 1, status: 'ok' }), (err: unknown) => err instanceof ContractError && err.path === 'stream');
  });

  it('turns JSON pointers into readable paths', () => {
    assert.equal(readablePath('/events/3/data/lanes'), 'events[3].data.lanes');
    assert.equal(readablePath(''), '');
    assert.equal(readablePath('/a~1b/c~0d'), 'a/b.c~d');
  });
});
