/**
 * Automatic guidance end to end (issue 4): a loop card on a road with an incident (simulator,
 * accelerated time) -> graded road segment -> a guidance rule puts "前方拥堵 请绕行" on the
 * segment's screens; an operator message pre-empts it; when the road clears the rule withdraws it.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { startLoopCardSimulator, startVmsSimulator, type VmsSimulator } from '@quanlink/simulators';
import { CloudProcess, EdgeProcess, loopCardBinding, screenBinding, tempDir, waitUntil } from '../src/index.js';

interface Dispatch { deviceId: string; state: string; messageId: string }
interface Message { id: string; crc: number; source: string; cancelledAt: number | null }

describe('automatic guidance: a congesting segment puts guidance on its screens', { timeout: 180_000 }, () => {
  it('issue 4: guidance appears when the segment congests, yields to an operator message, and is withdrawn when traffic clears', async (t) => {
    const dir = tempDir('e2e-guidance');
    const gateway = `gw-guide-${process.pid}`;
    mkdirSync(`${dir.path}/edge`);
    // 30 sim seconds per wall second, 2 s periods (60 sim s). Free flow, then every lane at 12 km/h
    // from sim 150 s for 600 s (20 wall seconds), then recovery.
    const card = await startLoopCardSimulator({
      seed: 71,
      ratePerLane: 0.4,
      timeScale: 30,
      startPaused: true,
      scenario: [{ kind: 'incident', atS: 150, durationS: 600, speedKmh: 12, recoveryS: 30 }],
    });
    const sims: VmsSimulator[] = [];
    for (const id of ['vms-1', 'vms-2']) sims.push(await startVmsSimulator({ id, profile: 'quanlink-vms-r1', wire: 'modbus-tcp' }));
    const cloud = await new CloudProcess({ dataDir: `${dir.path}/cloud` }).start();
    const edge = new EdgeProcess({
      dir: `${dir.path}/edge`,
      gatewayId: gateway,
      cloudUrl: cloud.mqttUrl,
      password: await cloud.addGateway(gateway),
      devices: [
        loopCardBinding('loop-1', card, 100, { periodS: 2, diagnostics: { chatterFlowVehH: 1e6 } }),
        ...sims.map((sim) => screenBinding(sim.id, sim)),
      ],
    });
    const showing = (crc: number) => sims.every((s) => s.shown().crc === crc);
    try {
      await cloud.api('/api/v1/segments/ring-road-east', {
        method: 'PUT',
        body: JSON.stringify({
          name: 'Ring road east',
          roadClass: 'arterial',
          lanes: [1, 2, 3, 4, 5, 6, 7, 8].map((lane) => ({ gatewayId: gateway, deviceId: 'loop-1', lane })),
        }),
      });
      await edge.writeConfig();
      await edge.start();
      await waitUntil('both screens known', () => cloud.api<{ screens: { key: string }[] }>('/api/v1/screens'), (s) => s.screens.filter((x) => x.key.startsWith(gateway)).length === 2);
      for (const sim of sims) {
        await cloud.api(`/api/v1/screens/${gateway}/${sim.id}`, { method: 'PUT', body: JSON.stringify({ segment: 'ring-road-east', groups: ['ring-east-ramps'] }) });
      }
      await cloud.api('/api/v1/guidance-rules/ring-east-jam', {
        method: 'PUT',
        body: JSON.stringify({
          segment: 'ring-road-east',
          whenGradeAtLeast: 'moderate',
          holdS: 0,
          targets: { segments: ['ring-road-east'] },
          multi: '前方拥堵[nl]请绕行',
          priority: 50,
        }),
      });
      card.resume();

      const autoMessages = async () => (await cloud.api<{ messages: Message[] }>('/api/v1/messages?source=auto')).messages;
      const [auto] = await waitUntil('the rule puts its message up', autoMessages, (ms) => ms.length === 1, { timeoutMs: 40_000 });
      await waitUntil('both screens show the guidance', () => showing(auto!.crc), Boolean, { timeoutMs: 15_000 });
      t.diagnostic(`guidance ${auto!.id} displayed`);

      // An operator message wins over automatic guidance (priority 100 > 50); cancelling it brings the guidance back.
      const operator = await cloud.api<{ message: Message }>('/api/v1/messages', {
        method: 'POST',
        body: JSON.stringify({ multi: '[cf1]事故[nl]减速慢行', targets: { groups: ['ring-east-ramps'] } }),
      });
      await waitUntil('the operator message shows', () => showing(operator.message.crc), Boolean, { timeoutMs: 15_000 });
      await waitUntil(
        'the guidance is superseded',
        () => cloud.api<{ dispatches: Dispatch[] }>(`/api/v1/dispatches?message=${auto!.id}`),
        (r) => r.dispatches.length === 2 && r.dispatches.every((d) => d.state === 'superseded'),
      );
      await cloud.api(`/api/v1/messages/${operator.message.id}/cancel`, { method: 'POST', body: '{}' });
      await waitUntil('the guidance is back', () => showing(auto!.crc), Boolean, { timeoutMs: 15_000 });

      // Traffic recovers: the rule withdraws its message and the screens go blank.
      await waitUntil('the guidance is withdrawn', autoMessages, (ms) => ms[0]?.cancelledAt !== null, { timeoutMs: 60_000 });
      await waitUntil('the screens are blank', () => showing(0), Boolean, { timeoutMs: 15_000 });
      const triggered = (await autoMessages()).length;
      assert.equal(triggered, 1, 'one congestion, one guidance message: no flapping');
    } finally {
      await edge.stop();
      await cloud.stop();
      await card.close();
      for (const sim of sims) await sim.close();
      dir.remove();
    }
  });
});
