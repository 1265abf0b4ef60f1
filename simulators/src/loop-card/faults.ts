/**
 * Faults a simulated loop card can play, in three families:
 * - communication faults (one at a time): how the card answers requests;
 * - lane faults (per lane): what a loop channel measures, after the detector fault classes of
 *   Caltrans PeMS / IRIS (locked on, no activity, chatter);
 * - `constant`: the register image stops updating, so every value repeats (PeMS "constant").
 */

export type CommFault =
  /** Every request is answered with this exception code (Modbus App Protocol 1.1b3 §7). */
  | { kind: 'exception'; code: number }
  /** Answers are right but late. */
  | { kind: 'delay'; ms: number }
  /** Requests are read and never answered. */
  | { kind: 'silent' }
  /** RTU: random bytes on the line instead of the answer; TCP: a frame in step with the stream but with a corrupt PDU. */
  | { kind: 'garbage' }
  /** RTU only: the right answer with a wrong CRC. */
  | { kind: 'bad-crc' }
  /** TCP only (Modbus TCP or RTU over TCP): each request closes the connection, unanswered. */
  | { kind: 'drop' };

export interface LaneFaultBase {
  lanes: number[];
  /** The card notices and raises its loop-fault flag for the lane (default false: only the data shows it). */
  flagged?: boolean;
}

export type LaneFault =
  /** The loop reads occupied all the time: occupancy 100 %, no counts (PeMS "locked on" / NTCIP max presence). */
  | (LaneFaultBase & { kind: 'locked-on' })
  /** The loop sees nothing: no counts, occupancy 0 (PeMS "card off" / NTCIP no activity). */
  | (LaneFaultBase & { kind: 'dead' })
  /**
   * The loop fires false pulses on top of the real vehicles: `pulsesPerS` (default 25) pulses of
   * `pulseMs` (default 20) each, counted as short vehicles without a speed (PeMS "chatter").
   */
  | (LaneFaultBase & { kind: 'chatter'; pulsesPerS?: number; pulseMs?: number });

export type LaneFaultKind = LaneFault['kind'];

export type LoopCardFault = CommFault | LaneFault | { kind: 'constant' };
export type LoopCardFaultKind = LoopCardFault['kind'];

export const COMM_FAULT_KINDS: readonly CommFault['kind'][] = ['exception', 'delay', 'silent', 'garbage', 'bad-crc', 'drop'];
export const LANE_FAULT_KINDS: readonly LaneFaultKind[] = ['locked-on', 'dead', 'chatter'];
export const FAULT_KINDS: readonly LoopCardFaultKind[] = [...COMM_FAULT_KINDS, ...LANE_FAULT_KINDS, 'constant'];

export const DEFAULT_CHATTER = { pulsesPerS: 25, pulseMs: 20 } as const;

export const isCommFault = (fault: LoopCardFault): fault is CommFault => (COMM_FAULT_KINDS as readonly string[]).includes(fault.kind);
export const isLaneFault = (fault: LoopCardFault): fault is LaneFault => (LANE_FAULT_KINDS as readonly string[]).includes(fault.kind);

/** Where a card is served, for the faults that only make sense on some wires. */
export type CardTransport = 'tcp' | 'rtu-tcp' | 'rtu-serial';

/**
 * Throws a RangeError naming the fault's problem when it is not one the card can play. Without a
 * context only the shape is checked; with one, also the lanes and the transport.
 */
export function checkFault(fault: LoopCardFault, context: { lanes?: number; transport?: CardTransport } = {}): void {
  const kind = (fault as { kind?: unknown }).kind;
  const fail = (problem: string): never => {
    throw new RangeError(`fault ${String(kind)}: ${problem}`);
  };
  switch (fault.kind) {
    case 'exception':
      if (!Number.isInteger(fault.code) || fault.code < 1 || fault.code > 255) fail(`exception code must be an integer 1..255, got ${String(fault.code)}`);
      return;
    case 'delay':
      if (typeof fault.ms !== 'number' || !Number.isFinite(fault.ms) || fault.ms < 0) fail(`delay ms must be >= 0, got ${String(fault.ms)}`);
      return;
    case 'silent':
    case 'garbage':
    case 'constant':
      return;
    case 'bad-crc':
      if (context.transport === 'tcp') fail('Modbus TCP frames have no CRC; bad-crc needs an RTU transport');
      return;
    case 'drop':
      if (context.transport === 'rtu-serial') fail('a serial line has no connection to drop; drop needs a TCP transport');
      return;
    case 'locked-on':
    case 'dead':
    case 'chatter': {
      const lanes = (fault as { lanes?: unknown }).lanes;
      const max = context.lanes ?? 255;
      if (!Array.isArray(lanes) || lanes.length === 0 || !lanes.every((l) => Number.isInteger(l) && l >= 1 && l <= max)) {
        fail(`lanes must be a non-empty list of lanes 1..${max}, got ${JSON.stringify(lanes)}`);
      }
      if (fault.flagged !== undefined && typeof fault.flagged !== 'boolean') fail(`flagged must be true or false, got ${JSON.stringify(fault.flagged)}`);
      if (fault.kind === 'chatter') {
        const rate = fault.pulsesPerS ?? DEFAULT_CHATTER.pulsesPerS;
        const ms = fault.pulseMs ?? DEFAULT_CHATTER.pulseMs;
        if (typeof rate !== 'number' || !(rate > 0 && rate <= 1000)) fail(`pulsesPerS must be a number in (0, 1000], got ${JSON.stringify(rate)}`);
        if (typeof ms !== 'number' || !(ms > 0)) fail(`pulseMs must be a number > 0, got ${JSON.stringify(ms)}`);
        if (rate * ms >= 1000) fail(`${rate} pulses/s of ${ms} ms would overlap (pulsesPerS * pulseMs must be < 1000)`);
      }
      return;
    }
    default:
      throw new RangeError(`unknown fault kind ${JSON.stringify(kind)} (known: ${FAULT_KINDS.join(', ')})`);
  }
}
