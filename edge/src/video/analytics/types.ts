/** Shared shapes of the analytics core: frames in, detections, the detector interface. */
import type { ObjectKind } from '@quanlink/contracts';

/** One decoded frame, packed rgb24 (no row padding). */
export interface RgbFrame {
  /** rgb24, width*height*3 bytes. */
  data: Buffer;
  width: number;
  height: number;
  /** Epoch ms of the frame. */
  ts: number;
}

export type BoxXYXY = [number, number, number, number];

export interface Detection {
  /** x1, y1, x2, y2 in the frame's pixels. */
  box: BoxXYXY;
  score: number;
  classId: number;
  label: string;
  kind: ObjectKind;
}

export interface DetectorTimings {
  preprocessMs: number;
  inferenceMs: number;
  decodeMs: number;
}

/** An object detector (the embedded one is ONNX; see detector-conformance in the tests). */
export interface Detector {
  readonly inputWidth: number;
  readonly inputHeight: number;
  readonly labels: readonly string[];
  detect(frame: RgbFrame): Promise<Detection[]>;
  /** Time split of the last detect. */
  readonly lastTimings: DetectorTimings;
  close(): Promise<void>;
}

export type OutputDecoder = 'fastestdet' | 'yolov5' | 'yolov8';

export interface DetectorOptions {
  modelPath: string;
  decoder: OutputDecoder;
  /** One label per line (darknet .names style); default: COCO 80 built in. */
  labelsPath?: string;
  /** Verified before loading. */
  sha256?: string;
  /** Default 0.5. */
  scoreThreshold?: number;
  /** Default 0.45. */
  nmsIou?: number;
  /** Intra-op threads, default 1. */
  threads?: number;
  /** Default true. */
  classAgnosticNms?: boolean;
  /**
   * Channel order the model wants. Default: 'bgr' for fastestdet (its reference feeds OpenCV
   * images), 'rgb' for yolov5/yolov8 (Ultralytics exports take RGB).
   */
  channelOrder?: 'bgr' | 'rgb';
}
