/** How video events leave the cloud (HTTP and WebSocket alike): thumbnails by URL unless asked inline. */
import type { VideoEventRecord } from '../store/types.js';

export const thumbnailPath = (eventId: number): string => `/api/v1/video-events/${eventId}/thumbnail.jpg`;
export const snapshotPath = (gatewayId: string, deviceId: string, snapshotId: string): string =>
  `/api/v1/snapshots/${encodeURIComponent(gatewayId)}/${encodeURIComponent(deviceId)}/${encodeURIComponent(snapshotId)}.jpg`;

export interface VideoEventView {
  id: number;
  gatewayId: string;
  deviceId: string;
  stream: string;
  seq: number;
  ts: number;
  type: string;
  data: Record<string, unknown>;
  snapshotId: string | null;
  /** The thumbnail JPEG stored with the event, or null when it brought none. */
  thumbnailUrl: string | null;
  /** The full snapshot (from the gateway, cached), or null when the event has none. */
  snapshotUrl: string | null;
  thumbnailProblem: string | null;
  receivedAt: number;
}

/** With `inline`, the thumbnail goes back into data.snapshot.thumbnail as base64 (as the gateway sent it). */
export function videoEventView(event: VideoEventRecord, inline = false): VideoEventView {
  let data = event.data;
  if (inline && event.thumbnail && typeof data.snapshot === 'object' && data.snapshot !== null) {
    data = { ...data, snapshot: { ...(data.snapshot as object), thumbnail: event.thumbnail.toString('base64') } };
  }
  return {
    id: event.id,
    gatewayId: event.gatewayId,
    deviceId: event.deviceId,
    stream: event.stream,
    seq: event.seq,
    ts: event.ts,
    type: event.type,
    data,
    snapshotId: event.snapshotId,
    thumbnailUrl: event.thumbnailBytes === null ? null : thumbnailPath(event.id),
    snapshotUrl: event.snapshotId === null ? null : snapshotPath(event.gatewayId, event.deviceId, event.snapshotId),
    thumbnailProblem: event.thumbnailProblem,
    receivedAt: event.receivedAt,
  };
}
