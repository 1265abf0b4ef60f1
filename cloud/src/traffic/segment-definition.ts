/** The rules of a road segment definition, shared by the store, the HTTP schema and the CLI. */
import { DEVICE_ID_PATTERN, GATEWAY_ID_PATTERN } from '@quanlink/contracts';
import { isRoadClass, ROAD_CLASSES } from './grades.js';
import type { LaneRef, SegmentDefinition } from '../store/types.js';

export const SEGMENT_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$';
export const MAX_SEGMENT_NAME_LENGTH = 200;
export const MAX_SEGMENT_LANES = 256;
/** Lane numbers as traffic.period events carry them. */
export const MIN_LANE = 1;
export const MAX_LANE = 999;

const segmentId = new RegExp(SEGMENT_ID_PATTERN);
const gatewayId = new RegExp(GATEWAY_ID_PATTERN);
const deviceId = new RegExp(DEVICE_ID_PATTERN);

export const laneKey = (lane: LaneRef): string => `${lane.gatewayId}/${lane.deviceId}/${lane.lane}`;

/** What is wrong with the definition, naming the field, or null when it is valid. */
export function segmentDefinitionProblem(segment: SegmentDefinition): string | null {
  if (!segmentId.test(segment.id)) return `segment id '${segment.id}' must match ${SEGMENT_ID_PATTERN}`;
  if (segment.name.trim() === '' || segment.name.length > MAX_SEGMENT_NAME_LENGTH) {
    return `segment '${segment.id}': name must be 1-${MAX_SEGMENT_NAME_LENGTH} characters`;
  }
  if (!isRoadClass(segment.roadClass)) {
    return `segment '${segment.id}': roadClass '${String(segment.roadClass)}' must be one of ${ROAD_CLASSES.join(', ')}`;
  }
  if (segment.lanes.length === 0 || segment.lanes.length > MAX_SEGMENT_LANES) {
    return `segment '${segment.id}': lanes must list 1-${MAX_SEGMENT_LANES} lanes`;
  }
  const seen = new Set<string>();
  for (const [i, lane] of segment.lanes.entries()) {
    const where = `segment '${segment.id}': lanes[${i}]`;
    if (!gatewayId.test(lane.gatewayId)) return `${where}.gatewayId '${lane.gatewayId}' must match ${GATEWAY_ID_PATTERN}`;
    if (!deviceId.test(lane.deviceId)) return `${where}.deviceId '${lane.deviceId}' must match ${DEVICE_ID_PATTERN}`;
    if (!Number.isInteger(lane.lane) || lane.lane < MIN_LANE || lane.lane > MAX_LANE) {
      return `${where}.lane ${lane.lane} must be an integer ${MIN_LANE}-${MAX_LANE}`;
    }
    const key = laneKey(lane);
    if (seen.has(key)) return `${where}: lane ${key} is listed twice`;
    seen.add(key);
  }
  return null;
}

/** Parses "gateway/device/lane", as the CLI takes it. */
export function parseLaneRef(text: string): LaneRef | null {
  const match = /^([^/]+)\/([^/]+)\/(\d{1,3})$/.exec(text);
  if (!match) return null;
  return { gatewayId: match[1]!, deviceId: match[2]!, lane: Number(match[3]) };
}
