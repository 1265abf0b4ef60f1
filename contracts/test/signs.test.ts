import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkCommandArgs, checkEvent, isSignCommand, type SignDisplayArgs } from '../src/index.js';

const display: SignDisplayArgs = {
  message: { id: 'm-1', multi: '前方拥堵[nl]请绕行', crc: 0x1a2b, priority: 100, startAt: 1_700_000_000_000, createdAt: 1_700_000_000_000, source: 'operator' },
  targets: [{ screen: 'vms-1', dispatchId: 'd-1' }],
};

describe('sign payloads (issue 4: dispatch to guidance screens)', () => {
  it('accepts a well-formed sign.display, sign.cancel and sign.sync', () => {
    assert.ok(checkCommandArgs('sign.display', display).ok);
    assert.ok(checkCommandArgs('sign.cancel', { messageId: 'm-1' }).ok);
    assert.ok(checkCommandArgs('sign.cancel', { messageId: 'm-1', screens: ['vms-1'] }).ok);
    assert.ok(checkCommandArgs('sign.sync', { entries: [display] }).ok);
    assert.ok(checkCommandArgs('sign.sync', { entries: [] }).ok, 'an empty sync clears every cloud message');
  });

  const bad: [string, 'sign.display' | 'sign.cancel' | 'sign.sync', unknown, string, RegExp][] = [
    ['NTCIP priority 0', 'sign.display', { ...display, message: { ...display.message, priority: 0 } }, 'args.message.priority', /greater or equal to 1/],
    ['NTCIP priority 256', 'sign.display', { ...display, message: { ...display.message, priority: 256 } }, 'args.message.priority', /less or equal to 255/],
    ['a CRC wider than 16 bits', 'sign.display', { ...display, message: { ...display.message, crc: 0x10000 } }, 'args.message.crc', /less or equal to 65535/],
    ['no targets', 'sign.display', { ...display, targets: [] }, 'args.targets', /./],
    ['a screen id with a topic wildcard', 'sign.display', { ...display, targets: [{ screen: 'vms/#', dispatchId: 'd' }] }, 'args.targets[0].screen', /match/],
    ['an unknown source', 'sign.display', { ...display, message: { ...display.message, source: 'rogue' } }, 'args.message.source', /./],
    ['an extra field', 'sign.cancel', { messageId: 'm', all: true }, 'args.all', /./],
    ['a missing message id', 'sign.cancel', {}, 'args.messageId', /./],
    ['a sync entry without a message', 'sign.sync', { entries: [{ targets: display.targets }] }, 'args.entries[0].message', /./],
  ];
  for (const [what, name, args, path, problem] of bad) {
    it(`rejects ${what} at ${path}`, () => {
      const result = checkCommandArgs(name, args);
      assert.equal(result.ok, false);
      if (result.ok) return;
      assert.equal(result.error.subject, `command ${name}`);
      assert.equal(result.error.path, path);
      assert.match(result.error.problem, problem);
    });
  }

  it('knows which command names are sign commands', () => {
    assert.ok(isSignCommand('sign.display'));
    assert.ok(!isSignCommand('ping'));
    assert.ok(!isSignCommand('toString'), 'no prototype names');
  });

  it('sign.dispatch and sign.status are device events with typed data', () => {
    const ok = { seq: 1, ts: 1, type: 'sign.dispatch', device: 'vms-1', data: { dispatchId: 'd-1', messageId: 'm-1', state: 'displayed', readbackCrc: 513 } };
    assert.equal(checkEvent(ok), undefined);
    assert.match(checkEvent({ ...ok, device: undefined })!.message, /device: is required for 'sign.dispatch'/);
    assert.equal(checkEvent({ ...ok, data: { ...ok.data, state: 'delivered' } })!.path, 'data.state', 'delivered is the cloud\'s state, not reported by the edge');
    const status = { seq: 2, ts: 1, type: 'sign.status', device: 'vms-1', data: { doorOpen: true, powerFault: false, controllerFault: false, pixelFailures: 3, displayedCrc: 0 } };
    assert.equal(checkEvent(status), undefined);
    assert.equal(checkEvent({ ...status, data: { ...status.data, pixelFailures: -1 } })!.path, 'data.pixelFailures');
  });
});
