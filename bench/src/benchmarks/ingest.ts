/**
 * ingest: events per second from the edge outbox to committed rows in the cloud, acknowledged back
 * to the edge (SqliteOutbox -> CloudLink -> embedded aedes with auth and ACL -> ingest -> SQLite
 * store -> synced ack -> prune), the edge in this process and the cloud in another. Baseline, same run,
 * same two-process arrangement: raw aedes QoS 1
 * publish/subscribe of the very same batch payloads (no store, no ack).
 *   npm run bench -- ingest [--events N] [--batch N] [--in-flight N]
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import pino from 'pino';
import { CONTRACT_VERSION, type NewEvent } from '@quanlink/contracts';
import { CloudLink, EventBus, SqliteOutbox, type OutboxRow } from '@quanlink/edge';
import { percentile, progress, round, type BenchResult } from '../result.js';

/** What a loop card's poll produces: a reading of 8 lanes x 3 values, and the lanes' counts. */
function loopCardEvents(n: number, device: string): NewEvent[] {
  const events: NewEvent[] = [];
  const t0 = Date.now() - n * 50;
  for (let i = 0; i < n; i++) {
    const ts = t0 + i * 50;
    if (i % 2 === 0) {
      const values: Record<string, number> = { uptime: 1000 + i };
      for (let lane = 1; lane <= 8; lane++) {
        values[`lane${lane}.count`] = 100_000 + i * 3 + lane;
        values[`lane${lane}.occupancy`] = ((i + lane) % 400) / 10;
        values[`lane${lane}.speed`] = 40 + ((i * lane) % 500) / 10;
      }
      events.push({ ts, type: 'reading', device, data: { values } });
    } else {
      events.push({ ts, type: 'counts', device, data: { lanes: { [String((i % 8) + 1)]: 1 + (i % 3) } } });
    }
  }
  return events;
}

function batchPayload(stream: string, rows: OutboxRow[]): string {
  return `{"v":${CONTRACT_VERSION},"stream":${JSON.stringify(stream)},"first":${rows[0]!.seq},"last":${rows[rows.length - 1]!.seq},"sentAt":${Date.now()},"events":[${rows.map((r) => r.json).join(',')}]}`;
}

/** Starts the cloud side in its own process and waits for it to say it is ready. */
async function cloudSide(mode: 'raw' | 'quanlink', arg: string): Promise<{ child: ChildProcess; url: string; password?: string }> {
  const child = fork(fileURLToPath(new URL('../parts/ingest-cloud-side.ts', import.meta.url)), [mode, arg], {
    execArgv: ['--import', 'tsx', ...(process.env.BENCH_CHILD_PROF ? ['--cpu-prof', '--cpu-prof-dir=' + process.env.BENCH_CHILD_PROF] : [])],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const [ready] = (await once(child, 'message')) as [{ url: string; password?: string }];
  return { child, ...ready };
}

async function rawAedes(payloads: string[], eventsPerPayload: number[]): Promise<{ eventsPerS: number; ms: number }> {
  const side = await cloudSide('raw', String(payloads.length));
  const pub = await mqtt.connectAsync(side.url, { clientId: 'bench-pub' });
  const done = once(side.child, 'message');
  const start = performance.now();
  for (const payload of payloads) pub.publish('bench/events', payload, { qos: 1 });
  await done;
  const ms = performance.now() - start;
  await pub.endAsync();
  side.child.disconnect();
  const events = eventsPerPayload.reduce((a, b) => a + b, 0);
  return { eventsPerS: events / (ms / 1000), ms };
}

export async function run(args: string[]): Promise<BenchResult> {
  const { values } = parseArgs({
    args,
    options: { events: { type: 'string', default: '200000' }, batch: { type: 'string', default: '500' }, 'in-flight': { type: 'string', default: '8' } },
  });
  const total = Number(values.events);
  const batchSize = Number(values.batch);
  const maxInFlight = Number(values['in-flight']);
  const dir = mkdtempSync(join(tmpdir(), 'quanlink-bench-ingest-'));
  const logger = pino({ level: 'warn' });
  try {
    progress(`filling an outbox with ${total} loop-card events...`);
    const outbox = new SqliteOutbox(join(dir, 'outbox.db'));
    for (let i = 0; i < total; i += 5000) outbox.append(loopCardEvents(Math.min(5000, total - i), 'loop-1'));

    // The baseline carries the same bytes the link will send.
    const payloads: string[] = [];
    const counts: number[] = [];
    for (let seq = 1; seq <= total; seq += batchSize) {
      const rows = outbox.readFrom(seq, batchSize);
      payloads.push(batchPayload(outbox.stream, rows));
      counts.push(rows.length);
    }
    progress('baseline: raw aedes QoS 1 publish/subscribe...');
    const baseline = await rawAedes(payloads, counts);

    progress('quanlink: outbox -> link -> aedes (auth, ACL) -> ingest -> SQLite -> ack -> prune...');
    const cloud = await cloudSide('quanlink', join(dir, 'cloud'));
    const bus = new EventBus();
    const rtts: number[] = [];
    const link = new CloudLink({
      gatewayId: 'bench-gw',
      url: cloud.url,
      password: cloud.password!,
      outbox,
      bus,
      logger,
      batchSize,
      maxInFlight,
      birth: () => ({ agentVersion: 'bench', startedAt: Date.now(), devices: [] }),
    });
    const drained = new Promise<void>((resolve) => {
      bus.on('link.synced', ({ upTo }) => {
        if (link.stats.ackRttMs !== undefined) rtts.push(link.stats.ackRttMs);
        if (upTo === total) resolve();
      });
    });
    const connected = new Promise<void>((resolve) => bus.on('link.state', ({ connected }) => connected && resolve()));
    await link.start();
    await connected;
    const start = performance.now();
    await drained;
    const ms = performance.now() - start;
    await link.stop();
    cloud.child.send({ stats: true });
    const [{ syncedSeq }] = (await once(cloud.child, 'message')) as [{ syncedSeq: number }];
    cloud.child.disconnect();
    outbox.close();

    const value = total / (ms / 1000);
    rtts.sort((a, b) => a - b);
    return {
      name: 'ingest',
      unit: 'events/s',
      value: Math.round(value),
      baseline: { what: 'raw aedes QoS 1 publish/subscribe of the same batch payloads, publisher and broker+subscriber in two processes like the real parts, no store, no ack', value: Math.round(baseline.eventsPerS) },
      ratio: round(value / baseline.eventsPerS, 3),
      aim: { ratio: 0.5, value: 20_000 },
      details: {
        events: total,
        batchSize,
        maxInFlight,
        ms: round(ms, 1),
        baselineMs: round(baseline.ms, 1),
        ackRtt_p50_ms: percentile(rtts, 50),
        ackRtt_p99_ms: percentile(rtts, 99),
        cloudSyncedSeq: syncedSeq,
        bytesPerEvent: Math.round(payloads.reduce((a, p) => a + p.length, 0) / total),
      },
      at: new Date().toISOString(),
      command: `npm run bench -- ingest --events ${total} --batch ${batchSize} --in-flight ${maxInFlight}`,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
