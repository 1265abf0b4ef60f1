/**
 * A simulated guidance screen without a wire: what it shows, how it judges a message (CRC, MULTI
 * syntax, fit, all by sign-content against the profile's capabilities), its faults and its
 * history, and a PNG of each page exactly as sign-content renders it. The Modbus and MQTT
 * front-ends (modbus-sign.ts, mqtt-sign.ts) and the in-process driver all drive this one core.
 */
import { EventEmitter } from 'node:events';
import { SIGN_LAST_ERROR_OK, SIGN_REJECTIONS, type SignRejection, type SignRejectionKind } from '@quanlink/firmware-bridge';
import type { DeviceProfile } from '@quanlink/device-profiles';
import {
  MultiSyntaxError,
  checkContent,
  checkMultiLength,
  crcOfDisplayed,
  defaultsFor,
  messageCrc,
  parseMulti,
  renderPages,
  type SignCapabilities,
  type SignContent,
} from '@quanlink/sign-content';

export interface VmsFaults {
  offline: boolean;
  slowMs: number;
  reject: boolean;
  pixelFailures: number;
  displaysOther: boolean;
  doorOpen: boolean;
  powerFault: boolean;
}

export interface ShownMessage {
  multi: string;
  crc: number;
  since: number;
}

export const NO_FAULTS: Readonly<VmsFaults> = Object.freeze({
  offline: false,
  slowMs: 0,
  reject: false,
  pixelFailures: 0,
  displaysOther: false,
  doorOpen: false,
  powerFault: false,
});

const FAULT_KEYS = Object.keys(NO_FAULTS) as (keyof VmsFaults)[];
const MAX_SLOW_MS = 600_000;

/** Checks a partial set of faults (from a test or an HTTP body); throws RangeError naming the bad field. */
export function checkFaults(faults: unknown, pixels = Infinity): asserts faults is Partial<VmsFaults> {
  if (typeof faults !== 'object' || faults === null || Array.isArray(faults)) throw new RangeError('faults must be an object like {"reject": true}');
  for (const [key, value] of Object.entries(faults)) {
    if (!(FAULT_KEYS as string[]).includes(key)) throw new RangeError(`unknown fault '${key}' (known: ${FAULT_KEYS.join(', ')})`);
    if (key === 'slowMs') {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_SLOW_MS) throw new RangeError(`slowMs must be an integer 0..${MAX_SLOW_MS}, got ${JSON.stringify(value)}`);
    } else if (key === 'pixelFailures') {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > pixels) {
        throw new RangeError(`pixelFailures must be an integer 0..${pixels === Infinity ? 'pixels of the sign' : pixels}, got ${JSON.stringify(value)}`);
      }
    } else if (typeof value !== 'boolean') {
      throw new RangeError(`${key} must be true or false, got ${JSON.stringify(value)}`);
    }
  }
}

export type ActivationResult = { ok: true } | { ok: false; rejection: SignRejection; message: string };

/** What the screen reports about itself (the Modbus input registers, the MQTT state). */
export interface ScreenStatus {
  multi: string;
  displayedCrc: number;
  doorOpen: boolean;
  powerFault: boolean;
  controllerFault: boolean;
  pixelFailures: number;
  brightness: number;
  /** 0 after a successful activation, else SIGN_REJECTIONS[...].lastError of the last refusal. */
  lastError: number;
  activationRejected: boolean;
}

export interface VmsScreenOptions {
  id: string;
  capabilities: SignCapabilities;
  /** Clock for `since`; default Date.now. */
  now?: () => number;
  /** Entries kept in the history; default 1000. */
  historyLimit?: number;
}

/** Deterministic dead pixels: the same id and count always fail the same pixels. */
function pickDeadPixels(id: string, count: number, width: number, height: number): Array<{ x: number; y: number }> {
  const total = width * height;
  let seed = 2166136261;
  for (const ch of id) seed = Math.imul(seed ^ ch.charCodeAt(0), 16777619) >>> 0;
  const chosen = new Set<number>();
  while (chosen.size < Math.min(count, total)) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    chosen.add(seed % total);
  }
  return [...chosen].sort((a, b) => a - b).map((i) => ({ x: i % width, y: Math.floor(i / width) }));
}

export class VmsScreen {
  readonly id: string;
  readonly capabilities: SignCapabilities;
  readonly #now: () => number;
  readonly #historyLimit: number;
  readonly #events = new EventEmitter();
  #shown: ShownMessage;
  readonly #history: ShownMessage[] = [];
  #faults: VmsFaults = { ...NO_FAULTS };
  #brightness = 100;
  #lastError = SIGN_LAST_ERROR_OK;
  #activationRejected = false;

  constructor(opts: VmsScreenOptions) {
    this.id = opts.id;
    this.capabilities = opts.capabilities;
    this.#now = opts.now ?? Date.now;
    this.#historyLimit = opts.historyLimit ?? 1000;
    this.#shown = { multi: '', crc: 0, since: this.#now() };
    this.#history.push(this.#shown);
  }

  /** A screen with the capabilities of a vms profile. */
  static fromProfile(id: string, profile: DeviceProfile, opts: Omit<VmsScreenOptions, 'id' | 'capabilities'> = {}): VmsScreen {
    if (profile.kind !== 'vms' || !profile.sign) throw new RangeError(`vms screen ${id}: profile ${profile.id} is a ${profile.kind} profile, not a vms`);
    return new VmsScreen({ ...opts, id, capabilities: profile.sign.capabilities });
  }

  shown(): ShownMessage {
    return { ...this.#shown };
  }

  history(): ShownMessage[] {
    return this.#history.map((m) => ({ ...m }));
  }

  faults(): VmsFaults {
    return { ...this.#faults };
  }

  setFaults(faults: Partial<VmsFaults>): void {
    checkFaults(faults, this.capabilities.widthPx * this.capabilities.heightPx);
    this.#faults = { ...this.#faults, ...faults };
    this.#changed('faults');
  }

  clearFaults(): void {
    this.#faults = { ...NO_FAULTS };
    this.#changed('faults');
  }

  status(): ScreenStatus {
    const f = this.#faults;
    return {
      multi: this.#shown.multi,
      displayedCrc: this.#shown.crc,
      doorOpen: f.doorOpen,
      powerFault: f.powerFault,
      controllerFault: false,
      pixelFailures: f.pixelFailures,
      brightness: this.#brightness,
      lastError: this.#lastError,
      activationRejected: this.#activationRejected,
    };
  }

  /** Judges and (unless a fault says otherwise) shows a message. An empty message blanks. */
  display(multi: string, expectedCrc: number): ActivationResult {
    if (multi === '') return this.blank();
    if (this.#faults.reject) return this.refuse('other', 'the sign refuses every activation (fault reject)');
    const crc = messageCrc(multi);
    if (crc !== expectedCrc) return this.refuse('crcMismatch', `the message's CRC is ${crc}, the expected CRC was ${expectedCrc}`);
    const tooLong = checkMultiLength(multi, this.capabilities)[0];
    if (tooLong) return this.refuse('doesNotFit', tooLong.message);
    let content: SignContent;
    try {
      content = parseMulti(multi, defaultsFor(this.capabilities));
    } catch (err) {
      if (err instanceof MultiSyntaxError) return this.refuse('multiSyntax', err.message);
      throw err;
    }
    const misfit = checkContent(content, this.capabilities)[0];
    if (misfit) return this.refuse('doesNotFit', misfit.message);
    this.#accept(multi);
    return { ok: true };
  }

  blank(): ActivationResult {
    this.#accept('');
    return { ok: true };
  }

  /** Records a refused activation: the last error and the activationRejected flag. */
  refuse(kind: SignRejectionKind, message: string): ActivationResult {
    const rejection = SIGN_REJECTIONS[kind];
    this.#lastError = rejection.lastError;
    this.#activationRejected = true;
    this.#changed('status');
    return { ok: false, rejection, message: `${rejection.reason}: ${message}` };
  }

  setBrightness(percent: number): void {
    if (!Number.isInteger(percent) || percent < 0 || percent > 100) throw new RangeError(`brightness must be an integer 0..100, got ${percent}`);
    this.#brightness = percent;
    this.#changed('status');
  }

  /** The failed pixels of the pixelFailures fault. */
  deadPixels(): Array<{ x: number; y: number }> {
    return pickDeadPixels(this.id, this.#faults.pixelFailures, this.capabilities.widthPx, this.capabilities.heightPx);
  }

  /** One PNG per page of what is shown, as sign-content renders it (with the failed pixels dark). */
  async renderPng(opts: { scale?: number } = {}): Promise<Buffer[]> {
    const content = this.#shown.multi === '' ? { pages: [] } : parseMulti(this.#shown.multi, defaultsFor(this.capabilities));
    return renderPages(content, this.capabilities, { ...opts, deadPixels: this.deadPixels() });
  }

  /** Called on every change of what is shown, of the faults or of the status. */
  onChange(listener: (what: 'shown' | 'faults' | 'status') => void): () => void {
    this.#events.on('change', listener);
    return () => this.#events.off('change', listener);
  }

  #accept(multi: string): void {
    this.#lastError = SIGN_LAST_ERROR_OK;
    this.#activationRejected = false;
    // displaysOther: the sign says yes but keeps what it showed, so its readback CRC gives it away.
    if (this.#faults.displaysOther || multi === this.#shown.multi) {
      this.#changed('status');
      return;
    }
    this.#shown = { multi, crc: crcOfDisplayed(multi), since: this.#now() };
    this.#history.push(this.#shown);
    if (this.#history.length > this.#historyLimit) this.#history.splice(0, this.#history.length - this.#historyLimit);
    this.#changed('shown');
  }

  #changed(what: 'shown' | 'faults' | 'status'): void {
    this.#events.emit('change', what);
  }
}
