/**
 * The agent on an RS-485 line (Modbus over Serial Line V1.02): three loop cards share one bus
 * through a real pseudo-terminal pair; one card is silent. The other two must be polled on time
 * and counted exactly, and the silent one reported unreachable, never stalling the bus.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import pino from 'pino';
import type { GatewayEvent } from '@quanlink/contracts';
import { loadBuiltinProfiles } from '@quanlink/device-profiles';
import { openSerialCable, startLoopCardBus } from '@quanlink/simulators';
import { ConfigFile, EdgeAgent } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'quanlink-agent-rtu-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('agent on a shared RTU line', { timeout: 60_000 }, () => {
  it('two cards answer, a third is silent: both counted exactly, the silent one unreachable, the bus never stalls', async () => {
    const profiles = await loadBuiltinProfiles();
    const cable = await openSerialCable();
    const bus = await startLoopCardBus({
      transport: { kind: 'rtu-serial', path: cable.devicePath, baudRate: 115_200 },
      cards: [
        { unitId: 1, seed: 11, profile: profiles.get('lanxin-ld4')!, ratePerLane: 0.5, timeScale: 20, startPaused: true },
        { unitId: 2, seed: 12, profile: profiles.get('lanxin-ld4')!, ratePerLane: 0.5, timeScale: 20, startPaused: true },
        { unitId: 3, seed: 13, profile: profiles.get('lanxin-ld4')!, faults: [{ kind: 'silent' }] },
      ],
    });
    const configFile = join(dir, 'edge.json');
    await ConfigFile.create(configFile, {
      gateway: { id: 'gw-rtu' },
      // No cloud in this test: the outbox is what is checked.
      cloud: { url: 'mqtt://127.0.0.1:9' },
      dataDir: 'data',
      devices: [1, 2, 3].map((unitId) => ({
        id: `loop-${unitId}`,
        profile: 'lanxin-ld4',
        transport: { kind: 'modbus-rtu' as const, path: cable.clientPath, unitId, baudRate: 115_200, timeoutMs: 200 },
        pollIntervalMs: 250,
      })),
    });
    const agent = await EdgeAgent.open(configFile, pino({ level: 'silent' }));
    try {
      await agent.start();
      await sleep(1500); // baselines for the live cards, timeouts for the silent one
      bus.card(1).resume();
      bus.card(2).resume();
      await sleep(3000);
      const status = agent.status();
      const byId = Object.fromEntries(status.devices.map((d) => [d.device, d]));
      assert.equal(byId['loop-3']!.health, 'unreachable', 'the silent card is reported');
      // A poll round every 250 ms for ~4.5 s: a stalled bus would leave the live cards far behind.
      for (const live of ['loop-1', 'loop-2']) {
        assert.equal(byId[live]!.health, 'ok');
        assert.ok(byId[live]!.polls >= 12, `${live} polled ${byId[live]!.polls} times despite the silent neighbour`);
      }
      bus.card(1).stopTraffic();
      bus.card(2).stopTraffic();
      await sleep(800);
      const events = agent.outbox.readFrom(1, 1_000_000).map((row) => JSON.parse(row.json) as GatewayEvent);
      for (const unitId of [1, 2]) {
        const totals: Record<string, number> = {};
        for (const e of events) {
          if (e.type !== 'counts' || e.device !== `loop-${unitId}`) continue;
          for (const [lane, n] of Object.entries(e.data.lanes)) totals[lane] = (totals[lane] ?? 0) + n;
        }
        const truth = Object.fromEntries(Object.entries(bus.card(unitId).truth().lanes).filter(([, n]) => n > 0));
        assert.ok(Object.keys(truth).length > 0, 'traffic happened');
        assert.deepEqual(totals, truth, `card ${unitId} counted exactly`);
      }
    } finally {
      await agent.stop();
      await bus.close();
      await cable.close();
    }
  });
});
