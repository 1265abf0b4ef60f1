/**
 * The walking skeleton end to end: loop-card simulators (Modbus TCP) -> edge agent (process) ->
 * MQTT -> cloud (process, embedded aedes + SQLite) -> HTTP API. The cloud's per-lane vehicle totals
 * must equal the simulators' ground truth exactly, through crashes, restarts and faults.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startLoopCardSimulator, type LoopCardSimulator } from '@quanlink/simulators';
import { CloudProcess, EdgeProcess, loopCardBinding, tempDir, waitUntil } from '../src/index.js';

const LANES = ['1', '2', '3', '4', '5', '6', '7', '8'];

function withZeros(lanes: Record<string, number>): Record<string, number> {
  return Object.fromEntries(LANES.map((lane) => [lane, lanes[lane] ?? 0]));
}

interface Chain {
  cloud: CloudProcess;
  edge: EdgeProcess;
  cards: { id: string; sim: LoopCardSimulator }[];
  gateway: string;
  close(): Promise<void>;
}

let chainCount = 0;

/** Simulators paused, cloud up, gateway registered, edge running and every card seen healthy by the cloud. */
async function startChain(opts: { cards?: number; seed?: number; cloudMqttUrl?: string } = {}): Promise<Chain> {
  const dir = tempDir('e2e');
  const gateway = `gw-${process.pid}-${Date.now().toString(36)}-${chainCount++}`;
  const cards = await Promise.all(
    Array.from({ length: opts.cards ?? 2 }, async (_, i) => ({
      id: `loop-${i + 1}`,
      sim: await startLoopCardSimulator({ seed: (opts.seed ?? 1) + i, ratePerLane: 0.3, timeScale: 20, startPaused: true }),
    })),
  );
  const cloud = await new CloudProcess({ dataDir: `${dir.path}/cloud`, ...(opts.cloudMqttUrl ? { mqttUrl: opts.cloudMqttUrl } : {}) }).start();
  const password = await cloud.addGateway(gateway);
  const edge = new EdgeProcess({
    dir: dir.path,
    gatewayId: gateway,
    cloudUrl: cloud.mqttUrl,
    ...(opts.cloudMqttUrl ? {} : { password }),
    devices: cards.map(({ id, sim }) => loopCardBinding(id, sim)),
  });
  await edge.writeConfig();
  await edge.start();
  for (const { id } of cards) {
    await waitUntil(`cloud to see ${id} healthy`, () => cloud.device(gateway, id), (d) => d?.state === 'ok');
  }
  return {
    cloud,
    edge,
    cards,
    gateway,
    async close() {
      await edge.stop();
      await cloud.stop();
      await Promise.all(cards.map(({ sim }) => sim.close()));
      dir.remove();
    },
  };
}

/** Stops traffic, then waits until every card's cloud totals equal its ground truth. */
async function assertTotalsExact(chain: Chain): Promise<number> {
  for (const { sim } of chain.cards) sim.stopTraffic();
  let vehicles = 0;
  for (const { id, sim } of chain.cards) {
    const truth = withZeros(sim.truth().lanes);
    vehicles += Object.values(truth).reduce((a, b) => a + b, 0);
    const seen = await waitUntil(
      `cloud totals of ${id} to equal ground truth ${JSON.stringify(truth)}`,
      async () => withZeros(await chain.cloud.laneTotals(chain.gateway, id)),
      (totals) => JSON.stringify(totals) === JSON.stringify(truth),
      { timeoutMs: 30_000, intervalMs: 200 },
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n--- edge output ---\n${chain.edge.process.output()}\n--- cloud output ---\n${chain.cloud.process.output()}`);
    });
    assert.deepEqual(seen, truth);
  }
  return vehicles;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('loop detector chain: simulator -> edge -> cloud', { timeout: 120_000 }, () => {
  it('cloud per-lane vehicle totals equal the simulators\' ground truth exactly', async () => {
    const chain = await startChain({ cards: 2, seed: 11 });
    try {
      for (const { sim } of chain.cards) sim.resume();
      await sleep(3000);
      const vehicles = await assertTotalsExact(chain);
      assert.ok(vehicles > 100, `the scenario produced enough traffic to mean something (${vehicles} vehicles)`);
    } finally {
      await chain.close();
    }
  });

  it('crash safety: kill -9 of the edge mid-stream, restarted: totals still exact (no loss, no duplicate)', async () => {
    const chain = await startChain({ cards: 2, seed: 21 });
    try {
      for (const { sim } of chain.cards) sim.resume();
      for (const pause of [700, 400, 1100]) {
        await sleep(pause);
        await chain.edge.restart();
      }
      await sleep(1000);
      await assertTotalsExact(chain);
    } finally {
      await chain.close();
    }
  });

  it('crash safety: kill -9 of the cloud mid-stream, restarted on the same ports and data: totals still exact', async () => {
    const chain = await startChain({ cards: 2, seed: 31 });
    try {
      for (const { sim } of chain.cards) sim.resume();
      for (const pause of [800, 1200]) {
        await sleep(pause);
        await chain.cloud.restart();
      }
      await sleep(1000);
      await assertTotalsExact(chain);
    } finally {
      await chain.close();
    }
  });

  it('reconnect: the loop card restarts (port closes and reopens) and the poller recovers by itself', async () => {
    const chain = await startChain({ cards: 1, seed: 41 });
    const { id, sim } = chain.cards[0]!;
    try {
      sim.resume();
      await sleep(800);
      await sim.closePort();
      await waitUntil('the cloud to show the card unreachable', () => chain.cloud.device(chain.gateway, id), (d) => d?.state === 'unreachable');
      await sleep(500);
      await sim.openPort();
      await waitUntil('the card healthy again', () => chain.cloud.device(chain.gateway, id), (d) => d?.state === 'ok', { timeoutMs: 40_000 });
      await sleep(800);
      await assertTotalsExact(chain);
    } finally {
      await chain.close();
    }
  });

  it('a Modbus exception from the card shows in the registry as a named device error, and clears', async () => {
    const chain = await startChain({ cards: 1, seed: 51 });
    const { id, sim } = chain.cards[0]!;
    try {
      sim.setFault({ kind: 'exception', code: 2 });
      const failed = await waitUntil('the device error', () => chain.cloud.device(chain.gateway, id), (d) => d?.state === 'error');
      assert.match(JSON.stringify(failed?.lastError), /IllegalDataAddress/);
      sim.setFault(null);
      await waitUntil('the device healthy again', () => chain.cloud.device(chain.gateway, id), (d) => d?.state === 'ok');
    } finally {
      await chain.close();
    }
  });
});

describe('against the Mosquitto broker of this machine (127.0.0.1:1883)', { timeout: 120_000 }, () => {
  let mosquittoUp = false;
  before(async () => {
    const { connectAsync } = await import('mqtt');
    const probe = await connectAsync('mqtt://127.0.0.1:1883', { connectTimeout: 2000, reconnectPeriod: 0 }).catch(() => undefined);
    mosquittoUp = probe !== undefined;
    await probe?.endAsync();
  });
  after(() => undefined);

  it('edge and cloud ingest both on Mosquitto: totals exact', async () => {
    assert.ok(mosquittoUp, 'Mosquitto must be running on 127.0.0.1:1883 (CI starts it)');
    const chain = await startChain({ cards: 1, seed: 61, cloudMqttUrl: 'mqtt://127.0.0.1:1883' });
    try {
      chain.cards[0]!.sim.resume();
      await sleep(2000);
      await assertTotalsExact(chain);
    } finally {
      await chain.close();
    }
  });
});
