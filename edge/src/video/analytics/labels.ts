/** Class names and the object kinds the analytics reason about. */
import { readFile } from 'node:fs/promises';
import type { ObjectKind } from '@quanlink/contracts';

/** COCO's 80 detection classes in the usual darknet order and spelling (as FastestDet ships them). */
export const COCO_LABELS: readonly string[] = Object.freeze(
  (
    'person,bicycle,car,motorbike,aeroplane,bus,train,truck,boat,traffic light,fire hydrant,stop sign,' +
    'parking meter,bench,bird,cat,dog,horse,sheep,cow,elephant,bear,zebra,giraffe,backpack,umbrella,' +
    'handbag,tie,suitcase,frisbee,skis,snowboard,sports ball,kite,baseball bat,baseball glove,skateboard,' +
    'surfboard,tennis racket,bottle,wine glass,cup,fork,knife,spoon,bowl,banana,apple,sandwich,orange,' +
    'broccoli,carrot,hot dog,pizza,donut,cake,chair,sofa,pottedplant,bed,diningtable,toilet,tvmonitor,' +
    'laptop,mouse,remote,keyboard,cell phone,microwave,oven,toaster,sink,refrigerator,book,clock,vase,' +
    'scissors,teddy bear,hair drier,toothbrush'
  ).split(','),
);

// 'motorcycle' is the Ultralytics spelling of darknet's 'motorbike'.
const VEHICLE_LABELS = new Set(['car', 'bus', 'truck', 'motorbike', 'motorcycle']);

/** car/bus/truck/motorbike -> vehicle, person -> person, bicycle -> bicycle, else other. */
export function kindOfLabel(label: string): ObjectKind {
  const name = label.trim().toLowerCase();
  if (VEHICLE_LABELS.has(name)) return 'vehicle';
  if (name === 'person') return 'person';
  if (name === 'bicycle') return 'bicycle';
  return 'other';
}

/** Reads a labels file: one name per line, blank lines at the end ignored. */
export async function readLabels(path: string): Promise<string[]> {
  const text = await readFile(path, 'utf8');
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}
