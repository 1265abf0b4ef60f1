/**
 * The card's loop channels: what they measure of the road's vehicles, with lane faults applied.
 * Keeps, per lane, the history of lane faults in sim time, so that both the card's registers and
 * the ground-truth periods say what the card reported, next to what the road did.
 */
import { DEFAULT_CHATTER, type LaneFault, type LaneFaultKind } from './faults.js';
import { emptyStats, faultAt, laneStats, pulsesBefore, type LaneFaultSpan, type LaneStats } from './lane-stats.js';
import type { ClassCounts, TrafficModel } from './traffic.js';

/** Loop-fault flag bits (as in the quanlink-lc8 profile): 1 open loop, 2 shorted loop, 4 inductance out of range. */
const FLAG_BITS: Record<LaneFaultKind, number> = { dead: 1, 'locked-on': 2, chatter: 4 };

interface Channel {
  history: LaneFaultSpan[];
  /** Vehicles the channel saw (not under locked-on or dead), by class. */
  seen: ClassCounts;
}

export class LoopDetector {
  private readonly channels: Channel[] = [];

  constructor(
    readonly model: TrafficModel,
    /** The card's own aggregation window for its occupancy and speed registers, sim seconds. */
    readonly windowS: number,
  ) {
    if (!(windowS > 0)) throw new RangeError(`windowS must be > 0, got ${windowS}`);
    for (let lane = 1; lane <= model.laneCount; lane++) this.channels.push({ history: [], seen: { short: 0, medium: 0, long: 0 } });
    // Faults change only after the model was advanced to the moment of the change, so the fault in
    // force when a vehicle is processed is the one it met.
    model.onVehicle((v) => {
      const channel = this.channel(v.lane);
      const fault = this.current(channel);
      if (fault === undefined || fault.kind === 'chatter') channel.seen[v.lengthClass]++;
    });
  }

  get laneCount(): number {
    return this.channels.length;
  }

  /** Sets (or, with null, clears) the fault of the given lanes from the model's current sim time. */
  setLaneFault(lanes: readonly number[], fault: LaneFault | null): void {
    const nowS = this.model.simTimeS;
    for (const lane of lanes) {
      const channel = this.channel(lane);
      const open = this.current(channel);
      if (open) {
        open.toS = nowS;
        if (!(open.toS > open.fromS)) channel.history.pop(); // set and changed in the same instant: it never acted
      }
      if (!fault) continue;
      channel.history.push({
        kind: fault.kind,
        fromS: nowS,
        toS: Infinity,
        flagged: fault.flagged ?? false,
        pulsesPerS: fault.kind === 'chatter' ? (fault.pulsesPerS ?? DEFAULT_CHATTER.pulsesPerS) : 0,
        pulseS: fault.kind === 'chatter' ? (fault.pulseMs ?? DEFAULT_CHATTER.pulseMs) / 1000 : 0,
      });
    }
  }

  /** The lane fault in force now, if any. */
  laneFault(lane: number): LaneFaultSpan | undefined {
    const open = this.current(this.channel(lane));
    return open ? { ...open } : undefined;
  }

  /** Vehicles the card counted on a lane since the start: those it saw plus chatter pulses. */
  reportedCount(lane: number): number {
    const c = this.reportedClasses(lane);
    return c.short + c.medium + c.long;
  }

  reportedClasses(lane: number): ClassCounts {
    const channel = this.channel(lane);
    const nowS = this.model.simTimeS;
    const pulses = channel.history.reduce((sum, span) => sum + pulsesBefore(span, nowS), 0);
    return { ...channel.seen, short: channel.seen.short + pulses };
  }

  /** What the channel measured over [fromS, toS). */
  reported(lane: number, fromS: number, toS: number): LaneStats {
    return laneStats(this.model.vehiclesDuring(lane, fromS, toS), fromS, toS, this.channel(lane).history);
  }

  /** What the road did over [fromS, toS). */
  road(lane: number, fromS: number, toS: number): LaneStats {
    return laneStats(this.model.vehiclesDuring(lane, fromS, toS), fromS, toS);
  }

  /** The card's last complete aggregation window, [k*W, (k+1)*W) with (k+1)*W <= now, as measured. */
  lastWindow(lane: number): LaneStats {
    const k = Math.floor(this.model.simTimeS / this.windowS) - 1;
    if (k < 0) return emptyStats();
    return this.reported(lane, k * this.windowS, (k + 1) * this.windowS);
  }

  /** Presence output of the channel now. */
  present(lane: number): boolean {
    const fault = this.current(this.channel(lane));
    if (fault?.kind === 'locked-on') return true;
    if (fault?.kind === 'dead') return false;
    return this.model.present(lane);
  }

  /**
   * The speed register holds a dual-loop (speed trap) measurement: the channel is healthy and
   * vehicles passed in the last window. A faulty channel cannot pair its loops' detections.
   */
  dualLoopSpeed(lane: number): boolean {
    if (this.current(this.channel(lane))) return false;
    const window = this.lastWindow(lane);
    return window.volume > 0 && window.timeMeanSpeedKmh !== null;
  }

  /** Loop-fault bits the card raises for a lane: only for a fault set with `flagged`. */
  loopFaultBits(lane: number): number {
    const fault = this.current(this.channel(lane));
    return fault?.flagged ? FLAG_BITS[fault.kind] : 0;
  }

  /** Kinds of lane fault in force at some time in [fromS, toS). */
  faultKindsDuring(lane: number, fromS: number, toS: number): LaneFaultKind[] {
    const kinds = new Set<LaneFaultKind>();
    for (const span of this.channel(lane).history) if (span.fromS < toS && span.toS > fromS) kinds.add(span.kind);
    return [...kinds];
  }

  /** The fault a vehicle arriving at `atS` on a lane met. */
  faultAt(lane: number, atS: number): LaneFaultSpan | undefined {
    return faultAt(this.channel(lane).history, atS);
  }

  private current(channel: Channel): LaneFaultSpan | undefined {
    const last = channel.history[channel.history.length - 1];
    return last && last.toS === Infinity ? last : undefined;
  }

  private channel(lane: number): Channel {
    const channel = this.channels[lane - 1];
    if (!channel) throw new RangeError(`lane ${lane} outside 1..${this.channels.length}`);
    return channel;
  }
}
