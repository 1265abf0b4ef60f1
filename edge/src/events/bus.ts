/** The agent's typed event bus: parts talk through it instead of holding references to each other. */
import { EventEmitter } from 'node:events';

export type DeviceHealth = 'ok' | 'error' | 'unreachable';

export interface BusEvents {
  /** New events are in the outbox (the cloud link sends them). */
  'outbox.appended': { lastSeq: number };
  'device.health': { device: string; state: DeviceHealth; error?: { code: string; message: string; operation?: string } };
  'link.state': { connected: boolean };
  /** The cloud acknowledged every event up to seq. */
  'link.synced': { upTo: number; pruned: number };
}

export class EventBus {
  private readonly emitter = new EventEmitter();

  constructor() {
    this.emitter.setMaxListeners(100);
  }

  emit<K extends keyof BusEvents>(name: K, payload: BusEvents[K]): void {
    this.emitter.emit(name, payload);
  }

  on<K extends keyof BusEvents>(name: K, listener: (payload: BusEvents[K]) => void): () => void {
    this.emitter.on(name, listener);
    return () => this.emitter.off(name, listener);
  }
}

/** A feature of the agent with a lifecycle (pollers, cloud link, telemetry...). */
export interface Extension {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}
