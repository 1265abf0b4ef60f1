/**
 * Video analytics core of the edge: ONNX detector with output decoders, motion gate, tracker and
 * scene analytics (counting lines, zones, alerts, period aggregation).
 *
 * Per camera, for each decoded frame:
 *   if (gate.shouldAnalyse(frame)) { const tracks = tracker.update(await detector.detect(frame), frame.ts);
 *                                    events.push(...scene.update(tracks, frame.ts)); }
 *   else events.push(...scene.skippedFrame(frame.ts));
 * and scene.tick(Date.now()) on a timer, so periods close when no frames come.
 */
export type { RgbFrame, Detection, Detector, DetectorOptions, DetectorTimings, OutputDecoder, BoxXYXY } from './types.js';
export { createOnnxDetector, ModelError, FASTESTDET_SHA256, type ModelErrorCode } from './onnx-detector.js';
export { kindOfLabel, COCO_LABELS, readLabels } from './labels.js';
export { decodeFastestDet, decodeYolov5, decodeYolov8, nms, type RawDetection, type DecodeContext } from './decoders.js';
export { packedToPlanar, frameToInput } from './preprocess.js';
export { MotionGate, type MotionGateOptions } from './motion-gate.js';
export { Tracker, HISTORY_LIMIT, type Track, type TrackerOptions } from './tracker.js';
export { iou } from './geometry.js';
export {
  checkAnalyticsConfig,
  ZONE_PURPOSES,
  type Point,
  type CountingLine,
  type ZoneConfig,
  type ZonePurpose,
  type AnalyticsConfig,
} from './scene-config.js';
export { SceneAnalytics, windowVelocity, WRONG_WAY_AFTER_MS, CLEAR_AFTER_MS, type AnalyticsEvent } from './scene-analytics.js';
