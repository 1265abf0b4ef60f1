/** Publishes the gateway's health (CPU, memory, disk, outbox depth, link) on its telemetry channel. */
import { statfsSync } from 'node:fs';
import { CONTRACT_VERSION, type GatewayTelemetry } from '@quanlink/contracts';
import type { Extension } from './events/bus.js';
import type { CloudLink } from './link/cloud-link.js';
import type { Outbox } from './outbox/index.js';

export class TelemetryReporter implements Extension {
  readonly name = 'telemetry';
  private timer: NodeJS.Timeout | undefined;
  private lastCpu = process.cpuUsage();
  private lastAt = process.hrtime.bigint();

  constructor(
    private readonly link: CloudLink,
    private readonly outbox: Outbox,
    private readonly agentVersion: string,
    private readonly intervalS: number,
    /** The data directory, whose filesystem's free space is reported; none reported when absent. */
    private readonly dataDir?: string,
  ) {}

  async start(): Promise<void> {
    this.timer = setInterval(() => this.link.publish('telemetry', this.sample(), 0), this.intervalS * 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
  }

  sample(): GatewayTelemetry {
    const cpu = process.cpuUsage(this.lastCpu);
    const now = process.hrtime.bigint();
    const elapsedUs = Number(now - this.lastAt) / 1000;
    this.lastCpu = process.cpuUsage();
    this.lastAt = now;
    const outbox = this.outbox.stats();
    const link = this.link.stats;
    return {
      v: CONTRACT_VERSION,
      ts: Date.now(),
      agentVersion: this.agentVersion,
      uptimeS: Math.round(process.uptime()),
      cpuPercent: elapsedUs > 0 ? Math.round(((cpu.user + cpu.system) / elapsedUs) * 1000) / 10 : 0,
      memRssBytes: process.memoryUsage.rss(),
      outbox: { depth: outbox.depth, lastSeq: outbox.lastSeq, ...(outbox.oldestTs !== undefined ? { oldestTs: outbox.oldestTs } : {}) },
      link: { reconnects: link.reconnects, ...(link.ackRttMs !== undefined ? { ackRttMs: link.ackRttMs } : {}) },
      ...this.disk(),
    };
  }

  /** Free and total bytes of the data directory's filesystem (what an outbox that grows offline competes for). */
  private disk(): Pick<GatewayTelemetry, 'disk'> {
    if (this.dataDir === undefined) return {};
    try {
      const fs = statfsSync(this.dataDir);
      return { disk: { freeBytes: fs.bavail * fs.bsize, totalBytes: fs.blocks * fs.bsize } };
    } catch {
      // A missing or unreadable directory leaves the field out; the rest of the sample still goes.
      return {};
    }
  }
}
