/**
 * The hot path of the SQLite store: one batch, one IMMEDIATE transaction, prepared statements,
 * projections applied only for events this call actually inserted (so a resent batch never counts twice).
 */
import type Database from 'better-sqlite3';
import type { DetectorDiagnosticData, EventBatch, GatewayEvent, TrafficPeriodData } from '@quanlink/contracts';
import {
  UnknownGatewayError,
  type BatchToIngest,
  type GradeChange,
  type IngestResult,
  type PipelineChange,
  type RejectedEventInput,
  type VideoEventRecord,
} from '../types.js';
import type { DispatchChange, ScreenCondition } from '../../dispatch/types.js';
import { SegmentProjector } from './segment-projector.js';
import { SignProjector } from './sign-projector.js';
import { VideoProjector } from './video-projector.js';
import { UpdateProjector } from './updates-store.js';
import { ConfigProjector } from './config-store.js';

type BatchRange = Pick<EventBatch, 'stream' | 'first' | 'last'>;

export class BatchWriter {
  private readonly getStream: Database.Statement<[string, string], { synced_seq: number }>;
  private readonly touchGateway: Database.Statement<[number, string]>;
  private readonly insertEvent: Database.Statement<[string, string, number, number, string, string | null, string, number]>;
  private readonly insertRejected: Database.Statement<
    [string, string, number, number, string, string | null, string, string, number]
  >;
  private readonly ensureDevice: Database.Statement<[string, string, number]>;
  private readonly addLaneCount: Database.Statement<[string, string, number, number, number]>;
  private readonly setDeviceState: Database.Statement<[string, string | null, number, string, string]>;
  private readonly insertStream: Database.Statement<[string, string, number, number, number, number]>;
  private readonly advanceStream: Database.Statement<[number, number, string, string]>;
  private readonly upsertLanePeriod: Database.Statement<
    [string, string, number, number, number, number, number, number | null, number | null, string, number, string | null, number]
  >;
  private readonly upsertDiagnostic: Database.Statement<[string, string, number, string, number, number, number | null, string, number]>;
  private readonly segments: SegmentProjector;
  private readonly signs: SignProjector;
  private readonly video: VideoProjector;
  private readonly updates: UpdateProjector;
  private readonly config: ConfigProjector;
  private readonly transaction: Database.Transaction<
    (gatewayId: string, batch: BatchRange, valid: readonly GatewayEvent[], rejected: readonly RejectedEventInput[], at: number) => IngestResult
  >;
  private readonly group: Database.Transaction<(items: readonly BatchToIngest[], at: number) => (IngestResult | Error)[]>;

  constructor(db: Database.Database) {
    this.getStream = db.prepare('SELECT synced_seq FROM streams WHERE gateway_id = ? AND stream = ?');
    this.touchGateway = db.prepare('UPDATE gateways SET last_seen = ? WHERE id = ?');
    this.insertEvent = db.prepare(
      `INSERT OR IGNORE INTO events (gateway_id, stream, seq, ts, type, device_id, data, received_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.insertRejected = db.prepare(
      `INSERT OR IGNORE INTO rejected_events (gateway_id, stream, seq, ts, type, device_id, data, reason, received_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.ensureDevice = db.prepare(
      'INSERT OR IGNORE INTO devices (gateway_id, device_id, updated_at) VALUES (?, ?, ?)',
    );
    this.addLaneCount = db.prepare(
      `INSERT INTO lane_totals (gateway_id, device_id, lane, total, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (gateway_id, device_id, lane) DO UPDATE SET total = total + excluded.total, updated_at = excluded.updated_at`,
    );
    this.setDeviceState = db.prepare(
      'UPDATE devices SET state = ?, last_error = ?, updated_at = ? WHERE gateway_id = ? AND device_id = ?',
    );
    this.insertStream = db.prepare(
      'INSERT INTO streams (gateway_id, stream, synced_seq, first_seq, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.advanceStream = db.prepare(
      'UPDATE streams SET synced_seq = max(synced_seq, ?), updated_at = ? WHERE gateway_id = ? AND stream = ?',
    );
    // A period sent again under another seq (e.g. by a reinstalled edge) replaces the stored one.
    this.upsertLanePeriod = db.prepare(
      `INSERT INTO lane_periods (gateway_id, device_id, lane, period_start, period_s, volume, flow, occupancy, speed,
                                 speed_source, completeness, classes, received_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (gateway_id, device_id, lane, period_start, period_s) DO UPDATE SET
         volume = excluded.volume, flow = excluded.flow, occupancy = excluded.occupancy, speed = excluded.speed,
         speed_source = excluded.speed_source, completeness = excluded.completeness, classes = excluded.classes,
         received_at = excluded.received_at`,
    );
    // A diagnostic applies unless it is older than what is stored: an onset or clear of an earlier
    // episode never overrides a later one, and within one episode a clear ends it for good.
    this.upsertDiagnostic = db.prepare(
      `INSERT INTO detector_diagnostics (gateway_id, device_id, lane, condition, active, since, cleared_at, detail, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (gateway_id, device_id, lane, condition) DO UPDATE SET
         active = excluded.active, since = excluded.since, cleared_at = excluded.cleared_at,
         detail = excluded.detail, updated_at = excluded.updated_at
       WHERE excluded.since > detector_diagnostics.since
          OR (excluded.since = detector_diagnostics.since AND (excluded.active = 0 OR detector_diagnostics.active = 1))`,
    );
    this.segments = new SegmentProjector(db);
    this.signs = new SignProjector(db);
    this.video = new VideoProjector(db);
    this.updates = new UpdateProjector(db);
    this.config = new ConfigProjector(db);
    this.transaction = db.transaction((gatewayId, batch, valid, rejected, at) => this.write(gatewayId, batch, valid, rejected, at));
    // Inside `group`, each call of `transaction` runs as a savepoint: a failing batch rolls back alone.
    this.group = db.transaction((items: readonly BatchToIngest[], at: number) =>
      items.map((item) => {
        try {
          checkCoverage(item.gatewayId, item.batch, item.valid, item.rejected);
          return this.transaction(item.gatewayId, item.batch, item.valid, item.rejected, at);
        } catch (err) {
          return err instanceof Error ? err : new Error(String(err));
        }
      }),
    );
  }

  /** Several batches, one commit (one fsync); see CloudStore.ingestBatches. */
  ingestMany(items: readonly BatchToIngest[], receivedAt: number): (IngestResult | Error)[] {
    return this.group.immediate(items, receivedAt);
  }

  ingest(
    gatewayId: string,
    batch: BatchRange,
    valid: readonly GatewayEvent[],
    rejected: readonly RejectedEventInput[],
    receivedAt: number,
  ): IngestResult {
    checkCoverage(gatewayId, batch, valid, rejected);
    return this.transaction.immediate(gatewayId, batch, valid, rejected, receivedAt);
  }

  private write(
    gatewayId: string,
    batch: BatchRange,
    valid: readonly GatewayEvent[],
    rejected: readonly RejectedEventInput[],
    at: number,
  ): IngestResult {
    const known = this.getStream.get(gatewayId, batch.stream);
    if (known && batch.first > known.synced_seq + 1) {
      return { status: 'gap', upTo: known.synced_seq, inserted: 0, quarantined: 0, duplicates: 0 };
    }
    if (this.touchGateway.run(at, gatewayId).changes === 0) throw new UnknownGatewayError(gatewayId, 'ingest batch');

    let inserted = 0;
    let quarantined = 0;
    let duplicates = 0;
    const effects: Effects = { gradeChanges: [], dispatchChanges: [], screenChanges: [], videoEvents: [], pipelineChanges: [] };
    const storeRejected: { seq: number; reason: string }[] = [];
    const devicesSeen = new Set<string>();
    for (const event of valid) {
      const device = event.device ?? null;
      // A report about a dispatch this cloud never made is kept in quarantine, not applied.
      const problem = event.type === 'sign.dispatch' && device !== null ? this.signs.dispatchEventProblem(gatewayId, device, event.data) : null;
      if (problem !== null) {
        const result = this.insertRejected.run(gatewayId, batch.stream, event.seq, event.ts, event.type, device, JSON.stringify(event.data), problem, at);
        if (result.changes === 0) duplicates++;
        else quarantined++;
        storeRejected.push({ seq: event.seq, reason: problem });
        continue;
      }
      // A video event's thumbnail is stored as bytes in video_events, not as base64 in its data.
      const video = this.video.parts(event);
      const result = this.insertEvent.run(gatewayId, batch.stream, event.seq, event.ts, event.type, device, video?.json ?? JSON.stringify(event.data), at);
      if (result.changes === 0) {
        duplicates++;
        continue;
      }
      inserted++;
      if (event.type === 'config.reported') this.config.reported(gatewayId, event.data, at);
      // Gateway-wide events (no device) that move other records.
      if (event.type === 'update.status') this.updates.statusEvent(gatewayId, event.data, at);
      if (device === null) continue;
      if (!devicesSeen.has(device)) {
        devicesSeen.add(device);
        this.ensureDevice.run(gatewayId, device, at);
      }
      if (video) {
        const stored = this.video.stored(Number(result.lastInsertRowid), gatewayId, device, batch.stream, event, video, at);
        effects.videoEvents.push(stored.record);
        if (stored.pipeline) effects.pipelineChanges.push(stored.pipeline);
      }
      this.project(gatewayId, device, event, at, effects);
    }
    for (const event of rejected) {
      const result = this.insertRejected.run(
        gatewayId,
        batch.stream,
        event.seq,
        event.ts,
        event.type,
        event.device ?? null,
        JSON.stringify(event.data ?? null),
        event.reason,
        at,
      );
      if (result.changes === 0) duplicates++;
      else quarantined++;
    }

    let upTo: number;
    if (known) {
      this.advanceStream.run(batch.last, at, gatewayId, batch.stream);
      upTo = Math.max(known.synced_seq, batch.last);
    } else {
      // A stream the cloud has never seen starts where the batch starts: a fresh outbox, or a
      // cloud that lost its store, must not stall waiting for events nobody has any more.
      this.insertStream.run(gatewayId, batch.stream, batch.last, batch.first, at, at);
      upTo = batch.last;
    }
    return {
      status: 'ok',
      upTo,
      inserted,
      quarantined,
      duplicates,
      ...(effects.gradeChanges.length > 0 && { gradeChanges: effects.gradeChanges }),
      ...(effects.dispatchChanges.length > 0 && { dispatchChanges: effects.dispatchChanges }),
      ...(effects.screenChanges.length > 0 && { screenChanges: effects.screenChanges }),
      ...(storeRejected.length > 0 && { storeRejected }),
      ...(effects.videoEvents.length > 0 && { videoEvents: effects.videoEvents }),
      ...(effects.pipelineChanges.length > 0 && { pipelineChanges: effects.pipelineChanges }),
    };
  }

  private project(gatewayId: string, device: string, event: GatewayEvent, at: number, effects: Effects): void {
    switch (event.type) {
      case 'reading':
        // Stored as the event itself; queried through events_device_type_ts.
        break;
      case 'counts':
        for (const lane in event.data.lanes) {
          this.addLaneCount.run(gatewayId, device, Number(lane), event.data.lanes[lane]!, at);
        }
        break;
      case 'device.status':
        this.setDeviceState.run(event.data.state, event.data.error ? JSON.stringify(event.data.error) : null, at, gatewayId, device);
        break;
      case 'traffic.period':
        effects.gradeChanges.push(...this.projectTrafficPeriod(gatewayId, device, event.data, at));
        break;
      case 'sign.dispatch': {
        const change = this.signs.dispatchEvent(gatewayId, event.data, at);
        if (change) effects.dispatchChanges.push(change);
        break;
      }
      case 'sign.status': {
        const condition = this.signs.statusEvent(gatewayId, device, event.ts, event.data, at);
        if (condition) effects.screenChanges.push(condition);
        break;
      }
      case 'detector.diagnostic':
        this.projectDiagnostic(gatewayId, device, event.ts, event.data, at);
        break;
    }
  }

  private projectTrafficPeriod(gatewayId: string, device: string, period: TrafficPeriodData, at: number): GradeChange[] {
    const lanes: number[] = [];
    for (const key in period.lanes) {
      const lane = Number(key);
      const data = period.lanes[key]!;
      lanes.push(lane);
      this.upsertLanePeriod.run(
        gatewayId,
        device,
        lane,
        period.periodStart,
        period.periodS,
        data.volume,
        data.flow,
        data.occupancy ?? null,
        data.speed ?? null,
        data.speedSource,
        period.completeness,
        data.classes ? JSON.stringify(data.classes) : null,
        at,
      );
    }
    return this.segments.lanePeriodsStored(gatewayId, device, lanes, period.periodStart, period.periodS, at);
  }

  private projectDiagnostic(gatewayId: string, device: string, ts: number, diagnostic: DetectorDiagnosticData, at: number): void {
    const onset = diagnostic.state === 'onset';
    this.upsertDiagnostic.run(
      gatewayId,
      device,
      diagnostic.lane ?? 0,
      diagnostic.condition,
      onset ? 1 : 0,
      diagnostic.since,
      onset ? null : ts,
      diagnostic.detail,
      at,
    );
  }
}

interface Effects {
  gradeChanges: GradeChange[];
  dispatchChanges: DispatchChange[];
  screenChanges: ScreenCondition[];
  videoEvents: VideoEventRecord[];
  pipelineChanges: PipelineChange[];
}

function checkCoverage(gatewayId: string, batch: BatchRange, valid: readonly unknown[], rejected: readonly unknown[]): void {
  if (valid.length + rejected.length !== batch.last - batch.first + 1) {
    throw new RangeError(
      `ingest batch from gateway '${gatewayId}' stream '${batch.stream}': ${valid.length} valid + ${rejected.length} rejected events ` +
        `do not cover seq ${batch.first}..${batch.last}`,
    );
  }
}
