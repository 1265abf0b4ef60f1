/**
 * Applies video events (video.crossing, video.alert, video.zone, camera.pipeline) inside the ingest
 * transaction, like SegmentProjector and SignProjector: the video_events row (indexed columns and
 * the thumbnail as bytes) and the camera's state commit with the batch, exactly once.
 */
import type Database from 'better-sqlite3';
import type { CameraPipelineData, GatewayEvent, SnapshotRef } from '@quanlink/contracts';
import { decodeBase64Jpeg, MAX_THUMBNAIL_BYTES } from '../../cameras/jpeg.js';
import { isVideoEventType, type PipelineChange, type VideoEventRecord, type VideoEventType } from '../types.js';

/** What of a video event goes where: its data without the base64 thumbnail, and the thumbnail as bytes. */
export interface VideoEventParts {
  json: string;
  data: Record<string, unknown>;
  snapshotId: string | null;
  thumbnail: Buffer | null;
  thumbnailProblem: string | null;
}

export class VideoProjector {
  private readonly insertVideoEvent: Database.Statement<
    [number, string, string, string, number, string | null, number | null, string | null, string | null, Buffer | null, string | null]
  >;
  private readonly touchCamera: Database.Statement<[string, string, number, number]>;
  private readonly upsertPipeline: Database.Statement<[string, string, string, string | null, number | null, number | null, number, number]>;

  constructor(db: Database.Database) {
    this.insertVideoEvent = db.prepare(
      `INSERT INTO video_events (event_id, gateway_id, device_id, type, ts, line, lane, direction, snapshot_id, thumbnail, thumbnail_problem)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.touchCamera = db.prepare(
      `INSERT INTO camera_state (gateway_id, device_id, last_event_at, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (gateway_id, device_id) DO UPDATE SET
         last_event_at = max(coalesce(camera_state.last_event_at, 0), excluded.last_event_at), updated_at = excluded.updated_at`,
    );
    // An older report (edge clock) never overrides a newer one.
    this.upsertPipeline = db.prepare(
      `INSERT INTO camera_state (gateway_id, device_id, pipeline_state, pipeline_reason, analysed_fps, restarts, pipeline_ts, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (gateway_id, device_id) DO UPDATE SET
         pipeline_state = excluded.pipeline_state, pipeline_reason = excluded.pipeline_reason, analysed_fps = excluded.analysed_fps,
         restarts = excluded.restarts, pipeline_ts = excluded.pipeline_ts, updated_at = excluded.updated_at
       WHERE camera_state.pipeline_ts IS NULL OR excluded.pipeline_ts >= camera_state.pipeline_ts`,
    );
  }

  /** The stored form of any event: for video events the thumbnail is taken out of the data (a bad one is dropped with the reason). */
  parts(event: GatewayEvent): VideoEventParts | undefined {
    if (!isVideoEventType(event.type)) return undefined;
    const data = event.data as Record<string, unknown>;
    const snapshot = data.snapshot as SnapshotRef | undefined;
    if (snapshot === undefined) return { json: JSON.stringify(data), data, snapshotId: null, thumbnail: null, thumbnailProblem: null };
    const { thumbnail: base64, ...ref } = snapshot;
    const kept = { ...data, snapshot: ref };
    let thumbnail: Buffer | null = null;
    let thumbnailProblem: string | null = null;
    if (base64 !== undefined) {
      const decoded = decodeBase64Jpeg(base64, MAX_THUMBNAIL_BYTES);
      if (decoded.ok) thumbnail = decoded.jpeg;
      else thumbnailProblem = `thumbnail of snapshot '${snapshot.id}' ${decoded.problem}`;
    }
    return { json: JSON.stringify(kept), data: kept, snapshotId: snapshot.id, thumbnail, thumbnailProblem };
  }

  /** After the event row `eventId` was inserted: the video row and the camera's state. */
  stored(
    eventId: number,
    gatewayId: string,
    device: string,
    stream: string,
    event: GatewayEvent,
    parts: VideoEventParts,
    at: number,
  ): { record: VideoEventRecord; pipeline?: PipelineChange } {
    const type = event.type as VideoEventType;
    const crossing = event.type === 'video.crossing' ? event.data : undefined;
    this.insertVideoEvent.run(
      eventId,
      gatewayId,
      device,
      type,
      event.ts,
      crossing?.line ?? null,
      crossing?.lane ?? null,
      crossing?.direction ?? null,
      parts.snapshotId,
      parts.thumbnail,
      parts.thumbnailProblem,
    );
    this.touchCamera.run(gatewayId, device, event.ts, at);
    const record: VideoEventRecord = {
      id: eventId,
      gatewayId,
      deviceId: device,
      stream,
      seq: event.seq,
      ts: event.ts,
      type,
      data: parts.data,
      snapshotId: parts.snapshotId,
      thumbnailBytes: parts.thumbnail?.length ?? null,
      thumbnailProblem: parts.thumbnailProblem,
      receivedAt: at,
    };
    if (event.type !== 'camera.pipeline') return { record };
    const p: CameraPipelineData = event.data;
    const applied =
      this.upsertPipeline.run(gatewayId, device, p.state, p.reason ?? null, p.analysedFps ?? null, p.restarts ?? null, event.ts, at).changes > 0;
    if (!applied) return { record };
    return {
      record,
      pipeline: {
        gatewayId,
        deviceId: device,
        state: p.state,
        reason: p.reason ?? null,
        analysedFps: p.analysedFps ?? null,
        restarts: p.restarts ?? null,
        since: event.ts,
      },
    };
  }
}
