import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { allGatewaysFilter, gatewayPrefix, isDownlink, isUplink, isValidGatewayId, parseTopic, topicFor } from '../src/index.js';

describe('topic map', () => {
  it('puts every channel under the gateway prefix and parses it back', () => {
    assert.equal(topicFor('gw-1', 'events'), 'quanlink/v1/gw/gw-1/events');
    assert.equal(topicFor('gw-1', 'cmd/result'), 'quanlink/v1/gw/gw-1/cmd/result');
    assert.deepEqual(parseTopic('quanlink/v1/gw/gw-1/cmd/result'), { gatewayId: 'gw-1', channel: 'cmd/result' });
    assert.equal(allGatewaysFilter('events'), 'quanlink/v1/gw/+/events');
    assert.ok(gatewayPrefix('gw-1').endsWith('/'));
  });

  it('never accepts a gateway id that could widen a topic (MQTT 3.1.1 §4.7 wildcards, separators, $)', () => {
    for (const bad of ['', 'a/b', 'gw+', 'gw#', '$SYS', 'GW-1', 'x'.repeat(65), 'gw 1']) {
      assert.equal(isValidGatewayId(bad), false, bad);
      assert.throws(() => topicFor(bad, 'events'), /gateway id/);
    }
  });

  it('does not parse topics outside the map', () => {
    for (const topic of ['quanlink/v1/gw/gw-1', 'quanlink/v1/gw/gw-1/unknown', 'quanlink/v2/gw/gw-1/events', 'quanlink/v1/gw/GW/events', 'other/gw-1/events']) {
      assert.equal(parseTopic(topic), undefined, topic);
    }
  });

  it('splits channels by direction: the ACL is derived from this', () => {
    assert.ok(isUplink('events') && isUplink('status') && isUplink('cmd/result'));
    assert.ok(isDownlink('synced') && isDownlink('cmd'));
    assert.ok(!isUplink('synced') && !isDownlink('events'));
  });
});
