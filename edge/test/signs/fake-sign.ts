/** A guidance screen in memory for unit tests: shows what it is told, with faults to switch on. */
import { DeviceError, DeviceUnreachableError, type DriverState, type SignDriver, type SignState } from '@quanlink/firmware-bridge';
import type { SignMessage } from '@quanlink/contracts';

export class FakeSign implements SignDriver {
  state: DriverState = 'connected';
  shown = { multi: '', crc: 0 };
  /** Every display/blank call, in order ('' for blank). */
  readonly calls: string[] = [];
  /** Reports this CRC whatever it was told to show (a sign that shows something else). */
  displaysOther: number | undefined;
  /** display() throws this (a refusal). */
  reject: string | undefined;
  /** Nothing answers. */
  offline = false;
  slowMs = 0;
  doorOpen = false;
  pixelFailures = 0;
  private inFlight = 0;
  maxInFlight = 0;
  closed = false;

  constructor(readonly device = 'vms-1') {}

  private async enter<T>(op: string, fn: () => T): Promise<T> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.slowMs > 0) await new Promise((r) => setTimeout(r, this.slowMs));
      if (this.offline) throw new DeviceUnreachableError(this.device, op, 'connection refused');
      return fn();
    } finally {
      this.inFlight--;
    }
  }

  display(multi: string, crc: number): Promise<void> {
    return this.enter('display', () => {
      this.calls.push(multi);
      if (this.reject) throw new DeviceError('SignRejected', this.device, 'display', `sign rejected the message: ${this.reject}`);
      this.shown = { multi, crc };
    });
  }

  blank(): Promise<void> {
    return this.enter('blank', () => {
      this.calls.push('');
      this.shown = { multi: '', crc: 0 };
    });
  }

  readState(): Promise<SignState> {
    return this.enter('read state', () => ({
      displayedCrc: this.displaysOther ?? this.shown.crc,
      doorOpen: this.doorOpen,
      powerFault: false,
      controllerFault: false,
      pixelFailures: this.pixelFailures,
    }));
  }

  /** Power loss: the screen comes back blank. */
  powerCycle(): void {
    this.shown = { multi: '', crc: 0 };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.state = 'closed';
  }
}

let counter = 0;
/** A message with a made-up CRC (the fake sign echoes whatever CRC it is given). */
export function message(overrides: Partial<SignMessage> & { id: string }): SignMessage {
  counter++;
  return {
    multi: `TEXT ${overrides.id}`,
    crc: (0x1000 + counter * 97) & 0xffff,
    priority: 100,
    startAt: 0,
    createdAt: 1_700_000_000_000 + counter,
    source: 'operator',
    ...overrides,
  };
}
