/**
 * modbus: loop-card readings per second through the project's Modbus TCP driver
 * (createModbusTcpDriver reading every point of the builtin quanlink-lc8 profile: plan, requests,
 * decoding), polling 1 card and 32 cards back to back, against bare modbus-serial reads of the
 * very same register blocks in the same run (no planning, no decoding, no error mapping).
 * Then the CPU time of polling 100+ lanes at 1 Hz, each card on its own timer as a gateway
 * polls, through the driver and bare.
 * The simulated cards (startLoopCardSimulator) run in a child process, so that the CPU measured
 * here is the polling side's alone.
 *   npm run bench -- modbus [--seconds N] [--cpu-seconds N] [--cards N]
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import M from 'modbus-serial';
import { loadBuiltinProfiles } from '@quanlink/device-profiles';
import { createModbusTcpDriver, planReads, type ModbusDriver, type PointRef, type ReadBlock } from '@quanlink/firmware-bridge';
import { percentile, progress, round, type BenchResult } from '../result.js';

const PROFILE = 'quanlink-lc8';
const SIMULATOR_ROLE = 'quanlink-bench-modbus-simulators';

// modbus-serial's typings and runtime disagree on the default export (see DESIGN.md).
type ModbusRTUClass = typeof M.default;
const ModbusRTU = ((M as unknown as { default?: unknown }).default ?? M) as ModbusRTUClass;
type BareClient = InstanceType<ModbusRTUClass>;

interface Card {
  host: string;
  port: number;
  unitId: number;
}

/** One way of taking a full reading of a card. */
interface Reader {
  read(): Promise<unknown>;
  close(): Promise<void>;
}

interface Side {
  name: 'driver' | 'bare';
  open(card: Card, index: number): Promise<Reader>;
}

// ---------------------------------------------------------------------------------------------
// The simulator side, in its own process.

async function serveSimulators(count: number): Promise<void> {
  const { startLoopCardSimulator } = await import('@quanlink/simulators');
  const cards = await Promise.all(Array.from({ length: count }, (_, i) => startLoopCardSimulator({ seed: i + 1, unitId: 1 })));
  const usageAtStart = process.cpuUsage();
  process.on('message', (message: { cpu?: boolean }) => {
    if (message.cpu) {
      const { user, system } = process.cpuUsage(usageAtStart);
      process.send!({ cpuMs: (user + system) / 1000 });
    }
  });
  process.once('disconnect', () => void Promise.all(cards.map((c) => c.close())).then(() => process.exit(0)));
  process.send!({ cards: cards.map((c): Card => ({ host: c.host, port: c.port, unitId: c.unitId })) });
}

if (process.env['QUANLINK_BENCH_ROLE'] === SIMULATOR_ROLE) await serveSimulators(Number(process.env['QUANLINK_BENCH_CARDS']));

async function startSimulators(count: number): Promise<{ child: ChildProcess; cards: Card[]; cpuMs(): Promise<number> }> {
  const child = fork(fileURLToPath(import.meta.url), [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, QUANLINK_BENCH_ROLE: SIMULATOR_ROLE, QUANLINK_BENCH_CARDS: String(count) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const [{ cards }] = (await once(child, 'message')) as [{ cards: Card[] }];
  const cpuMs = async (): Promise<number> => {
    child.send({ cpu: true });
    const [{ cpuMs: ms }] = (await once(child, 'message')) as [{ cpuMs: number }];
    return ms;
  };
  return { child, cards, cpuMs };
}

// ---------------------------------------------------------------------------------------------
// The two sides.

function driverSide(points: readonly PointRef[], limits: { maxRegistersPerRead?: number; maxGap?: number }): Side {
  return {
    name: 'driver',
    async open(card, index) {
      const driver: ModbusDriver = createModbusTcpDriver({ ...card, ...limits, timeoutMs: 2000, device: `card-${index}` });
      const deadline = Date.now() + 5000;
      while (driver.state !== 'connected') {
        if (Date.now() > deadline) throw new Error(`card-${index} did not connect: ${driver.state}`);
        await new Promise((r) => setTimeout(r, 5));
      }
      return { read: () => driver.read(points), close: () => driver.close() };
    },
  };
}

async function bareRead(client: BareClient, block: ReadBlock): Promise<unknown> {
  switch (block.table) {
    case 'input-register':
      return client.readInputRegisters(block.address, block.count);
    case 'holding-register':
      return client.readHoldingRegisters(block.address, block.count);
    case 'coil':
      return client.readCoils(block.address, block.count);
    case 'discrete-input':
      return client.readDiscreteInputs(block.address, block.count);
  }
}

function bareSide(blocks: readonly ReadBlock[]): Side {
  return {
    name: 'bare',
    async open(card) {
      const client = new ModbusRTU();
      client.on('error', () => undefined);
      await client.connectTCP(card.host, { port: card.port });
      client.setID(card.unitId);
      client.setTimeout(2000);
      return {
        async read() {
          for (const block of blocks) await bareRead(client, block);
        },
        close: () => new Promise<void>((resolve) => client.close(() => resolve())),
      };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Measurements.

interface Throughput {
  readings: number;
  seconds: number;
  /** CPU of this process over the run: unlike readings/s, untouched by other processes on the machine. */
  cpuMs: number;
  latenciesMs: number[];
}

/** Every reader reads back to back (one reading in flight per card, as the driver allows) for `seconds`. */
async function backToBack(readers: readonly Reader[], seconds: number): Promise<Throughput> {
  const latenciesMs: number[] = [];
  let readings = 0;
  const usage = process.cpuUsage();
  const started = performance.now();
  const end = started + seconds * 1000;
  await Promise.all(
    readers.map(async (reader) => {
      while (performance.now() < end) {
        const t0 = performance.now();
        await reader.read();
        latenciesMs.push(performance.now() - t0);
        readings += 1;
      }
    }),
  );
  const { user, system } = process.cpuUsage(usage);
  return { readings, seconds: (performance.now() - started) / 1000, cpuMs: (user + system) / 1000, latenciesMs };
}

async function openAll(side: Side, cards: readonly Card[]): Promise<Reader[]> {
  return Promise.all(cards.map((card, i) => side.open(card, i)));
}

async function closeAll(readers: readonly Reader[]): Promise<void> {
  await Promise.all(readers.map((r) => r.close()));
}

/**
 * Driver and bare over the same cards, in alternating slices (so that drift of the machine hits
 * both alike), after a warm-up of each.
 */
async function compare(sides: readonly Side[], cards: readonly Card[], seconds: number, label: string): Promise<Record<Side['name'], Throughput>> {
  const totals = {} as Record<Side['name'], Throughput>;
  const opened = await Promise.all(sides.map(async (side) => ({ side, readers: await openAll(side, cards) })));
  try {
    for (const { readers } of opened) await backToBack(readers, 1);
    const slices = 4;
    for (let slice = 0; slice < slices; slice++) {
      for (const { side, readers } of opened) {
        progress(`${label}: ${side.name}, slice ${slice + 1}/${slices}...`);
        const result = await backToBack(readers, seconds / slices);
        const total = (totals[side.name] ??= { readings: 0, seconds: 0, cpuMs: 0, latenciesMs: [] });
        total.readings += result.readings;
        total.seconds += result.seconds;
        total.cpuMs += result.cpuMs;
        total.latenciesMs.push(...result.latenciesMs);
      }
    }
  } finally {
    for (const { readers } of opened) await closeAll(readers);
  }
  return totals;
}

const perSecond = (t: Throughput): number => t.readings / t.seconds;
const cpuPerReadingUs = (t: Throughput): number => round((t.cpuMs * 1000) / t.readings, 1);

function summary(t: Record<Side['name'], Throughput>): Record<string, unknown> {
  const latency = (side: Throughput): { p50_ms: number; p99_ms: number } => {
    const sorted = [...side.latenciesMs].sort((a, b) => a - b);
    return { p50_ms: round(percentile(sorted, 50), 3), p99_ms: round(percentile(sorted, 99), 3) };
  };
  return {
    driver: Math.round(perSecond(t.driver)),
    bare: Math.round(perSecond(t.bare)),
    ratio: round(perSecond(t.driver) / perSecond(t.bare), 3),
    driverCpuUsPerReading: cpuPerReadingUs(t.driver),
    bareCpuUsPerReading: cpuPerReadingUs(t.bare),
    /** bare / driver CPU per reading: the ratio with the machine's other load taken out. */
    cpuRatio: round(t.bare.cpuMs / t.bare.readings / (t.driver.cpuMs / t.driver.readings), 3),
    driverLatency: latency(t.driver),
    bareLatency: latency(t.bare),
  };
}

interface CpuWindow {
  cpuMs: number;
  seconds: number;
  readings: number;
  failures: number;
}

/** CPU of this process over `seconds` of doing nothing but being alive (timers of the harness, GC). */
async function idleCpu(seconds: number): Promise<CpuWindow> {
  const usage = process.cpuUsage();
  const started = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const { user, system } = process.cpuUsage(usage);
  return { cpuMs: (user + system) / 1000, seconds: (performance.now() - started) / 1000, readings: 0, failures: 0 };
}

/**
 * CPU of this process while every card is read once a second, each on its own timer, staggered
 * over the second as a gateway's pollers are. The timers settle for a second before measuring.
 */
async function cpuAtOneHertz(readers: readonly Reader[], seconds: number): Promise<CpuWindow> {
  let readings = 0;
  let failures = 0;
  const inFlight = new Set<Promise<unknown>>();
  const timers: NodeJS.Timeout[] = [];
  const poll = (reader: Reader): void => {
    const read = reader.read().then(
      () => void (readings += 1),
      () => void (failures += 1),
    );
    inFlight.add(read);
    void read.finally(() => inFlight.delete(read));
  };
  try {
    readers.forEach((reader, i) => {
      timers.push(
        setTimeout(() => {
          poll(reader);
          timers.push(setInterval(() => poll(reader), 1000));
        }, (i * 1000) / readers.length),
      );
    });
    await new Promise((r) => setTimeout(r, 1000));
    const readingsBefore = readings;
    const window = await idleCpu(seconds);
    return { ...window, readings: readings - readingsBefore, failures };
  } finally {
    for (const timer of timers) clearInterval(timer);
    await Promise.all(inFlight);
  }
}

/** Driver and bare in alternating windows, and the process idle, for the same total time each. */
async function cpuComparison(sides: readonly Side[], cards: readonly Card[], seconds: number, lanes: number): Promise<Record<string, unknown>> {
  const opened = await Promise.all(sides.map(async (side) => ({ side, readers: await openAll(side, cards) })));
  const per100Lanes = (w: CpuWindow): number => round((w.cpuMs / w.seconds) * (100 / lanes), 3);
  const add = (a: CpuWindow | undefined, b: CpuWindow): CpuWindow =>
    a ? { cpuMs: a.cpuMs + b.cpuMs, seconds: a.seconds + b.seconds, readings: a.readings + b.readings, failures: a.failures + b.failures } : b;
  try {
    // A few readings first, so that neither side pays for warming up the code.
    for (const { readers } of opened) for (let i = 0; i < 20; i++) await Promise.all(readers.map((r) => r.read()));
    let idle: CpuWindow | undefined;
    const totals = new Map<Side['name'], CpuWindow>();
    for (let slice = 0; slice < 2; slice++) {
      progress(`CPU at 1 Hz: the process idle, window ${slice + 1}/2...`);
      idle = add(idle, await idleCpu(seconds / 2));
      for (const { side, readers } of opened) {
        progress(`CPU at 1 Hz, ${cards.length} cards (${lanes} lanes): ${side.name}, window ${slice + 1}/2...`);
        totals.set(side.name, add(totals.get(side.name), await cpuAtOneHertz(readers, seconds / 2)));
      }
    }
    const result: Record<string, unknown> = {
      lanes,
      cards: cards.length,
      pollHz: 1,
      secondsPerSide: seconds,
      idle_ms_per_s: round(idle!.cpuMs / idle!.seconds, 3),
    };
    for (const [name, window] of totals) {
      result[`${name}_ms_per_s_per_100_lanes`] = per100Lanes(window);
      // Less what the process costs doing nothing at all.
      result[`${name}_net_ms_per_s_per_100_lanes`] = round(((window.cpuMs / window.seconds - idle!.cpuMs / idle!.seconds) * 100) / lanes, 3);
      result[`${name}_readings`] = window.readings;
      result[`${name}_failures`] = window.failures;
    }
    return result;
  } finally {
    for (const { readers } of opened) await closeAll(readers);
  }
}

export async function run(args: string[]): Promise<BenchResult> {
  const { values } = parseArgs({
    args,
    options: { seconds: { type: 'string', default: '8' }, 'cpu-seconds': { type: 'string', default: '10' }, cards: { type: 'string', default: '32' } },
  });
  const seconds = Number(values.seconds);
  const cpuSeconds = Number(values['cpu-seconds']);
  const manyCards = Number(values.cards);
  if (!(seconds > 0) || !(cpuSeconds > 0) || !(Number.isInteger(manyCards) && manyCards >= 1)) {
    throw new RangeError('--seconds and --cpu-seconds must be > 0, --cards an integer >= 1');
  }

  const profile = (await loadBuiltinProfiles()).get(PROFILE);
  if (!profile) throw new Error(`builtin profile ${PROFILE} not found`);
  const lanesPerCard = profile.lanes ?? Math.max(...profile.points.map((p) => p.lane ?? 0));
  const points: PointRef[] = profile.points.map((p) => ({ key: p.key, wire: p.wire }));
  const limits = { maxRegistersPerRead: profile.modbus?.maxRegistersPerRead, maxGap: profile.modbus?.maxGap };
  const blocks = planReads(points, limits);
  // At least 100 lanes; all the cards, so that the polling stands out from the process's own noise.
  const cpuCards = Math.max(Math.ceil(100 / lanesPerCard), manyCards);

  progress(`starting ${Math.max(manyCards, cpuCards)} loop-card simulators in a child process...`);
  const simulators = await startSimulators(Math.max(manyCards, cpuCards));
  try {
    const sides = [driverSide(points, limits), bareSide(blocks)];
    // First, before the throughput runs leave garbage for the collector to clear while CPU is measured.
    const cpu = await cpuComparison(sides, simulators.cards.slice(0, cpuCards), cpuSeconds, cpuCards * lanesPerCard);
    const one = await compare(sides, simulators.cards.slice(0, 1), seconds, '1 card');
    const simCpuBefore = await simulators.cpuMs();
    const manyStarted = performance.now();
    const many = await compare(sides, simulators.cards.slice(0, manyCards), seconds, `${manyCards} cards`);
    const manySeconds = (performance.now() - manyStarted) / 1000;
    const simCpuMs = (await simulators.cpuMs()) - simCpuBefore;

    const value = perSecond(many.driver);
    const baseline = perSecond(many.bare);
    return {
      name: 'modbus',
      unit: 'readings/s',
      value: Math.round(value),
      baseline: {
        what: `bare modbus-serial reads of the same ${blocks.length} register blocks per reading (no planning, decoding or error mapping), same ${manyCards} simulated cards, same run`,
        value: Math.round(baseline),
      },
      ratio: round(value / baseline, 3),
      aim: { ratio: 0.9, value: 1000 },
      details: {
        reading: `all ${points.length} points of ${PROFILE} (${lanesPerCard} lanes): ${blocks.map((b) => `${b.table} ${b.address}+${b.count}`).join(', ')}`,
        cards: manyCards,
        [`cards${manyCards}`]: summary(many),
        cards1: summary(one),
        /** CPU of the simulators' process over the many-card comparison, in cores: near 1 means they, not the client, set the pace. */
        simulatorCores: round(simCpuMs / 1000 / manySeconds, 2),
        cpuAt1Hz: cpu,
        secondsPerSide: seconds,
      },
      at: new Date().toISOString(),
      command: `npm run bench -- modbus --seconds ${seconds} --cpu-seconds ${cpuSeconds} --cards ${manyCards}`,
    };
  } finally {
    simulators.child.disconnect();
    await once(simulators.child, 'exit');
  }
}
