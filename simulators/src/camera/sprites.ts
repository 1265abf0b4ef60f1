/**
 * Vehicle and pedestrian imagery: crops of real photographs (and one public-domain clip-art
 * truck) from the shared samples folder (../shared/models/samples by default), read at start and
 * never copied into the repository. Each crop is a rectangular patch around the object (10 %
 * padding, see the samples README); `object` is where the object itself sits in the crop, taken
 * from the detector box the crop was cut around, so ground-truth boxes are the object, not the
 * patch (and where the padding shows other vehicles, only the object is drawn). Scaled copies are
 * cached per width bucket, so composing a frame is only pixel copies.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { SAMPLES_DIR } from '../shared-models.js';

export const DEFAULT_IMAGERY_DIR = SAMPLES_DIR;

export type SpriteKind = 'vehicle' | 'person';

export interface SpriteSpec {
  file: string;
  kind: SpriteKind;
  /** The object class a detector should report (car, truck, person). */
  label: string;
  /** Object box inside the file, pixels [x1, y1, x2, y2]. */
  object: readonly [number, number, number, number];
  /** Relative draw frequency among sprites of its kind. */
  weight: number;
  /** Drawn this much wider than a standard vehicle (a truck; clip-art needs more pixels to be recognised). Default 1. */
  sizeFactor?: number;
  /** Only the object box is drawn, not the padding around it (where the padding shows parts of other vehicles). */
  cropToObject?: boolean;
}

/**
 * The crops that survive pasting best (samples README, "What this means for a compositing
 * simulator"). Object boxes = detector box minus crop origin, clamped to the crop.
 */
export const SPRITES: readonly SpriteSpec[] = [
  { file: 'crops/scenetext01_car0.png', kind: 'vehicle', label: 'car', object: [28, 16, 307, 173], weight: 3 },
  // The detector's box in the highway photo (5,5,58,52) also held a car behind the truck and one
  // beside it, so the scene showed a detector three vehicles where its truth had one: this is the
  // truck's own outline (a pixel of margin), read off the picture, and only it is drawn. Pasted alone
  // at the scene's sizes it is found 24/24 with no extra vehicle (the old patch: 23/24, 6 extras).
  { file: 'crops/camshift_result_truck1.png', kind: 'vehicle', label: 'truck', object: [16, 11, 57, 49], weight: 2, cropToObject: true },
  { file: 'crops/detect_test2_car0.png', kind: 'vehicle', label: 'car', object: [20, 7, 218, 77], weight: 2 },
  { file: 'crops/scenetext06_car0.png', kind: 'vehicle', label: 'car', object: [15, 9, 163, 98], weight: 2 },
  { file: 'clipart/clipart_small_truck_steffen_gluc_01.png', kind: 'vehicle', label: 'truck', object: [0, 0, 145, 93], weight: 1, sizeFactor: 1.15 },
  { file: 'crops/vtest_f200_person1.png', kind: 'person', label: 'person', object: [4, 10, 42, 108], weight: 1 },
  { file: 'crops/vtest_f200_person3.png', kind: 'person', label: 'person', object: [4, 8, 43, 92], weight: 1 },
  { file: 'crops/vtest_f200_person0.png', kind: 'person', label: 'person', object: [3, 11, 33, 117], weight: 1 },
];

/** A scaled sprite ready to blit: raw pixels, 3 (opaque) or 4 (alpha) channels. */
export interface ScaledSprite {
  data: Buffer;
  width: number;
  height: number;
  channels: 3 | 4;
  /** Object box inside the scaled sprite, pixels. */
  object: [number, number, number, number];
}

interface LoadedSprite {
  spec: SpriteSpec;
  image: Buffer;
  width: number;
  height: number;
  hasAlpha: boolean;
}

/** Width buckets (px of object width) so a handful of scaled copies serve every position. */
const BUCKET_PX = 4;

export class SpriteLibrary {
  private readonly cache = new Map<string, Promise<ScaledSprite>>();

  private constructor(private readonly loaded: readonly LoadedSprite[]) {}

  /** Reads every sprite from `dir`; a missing or unreadable file is an error naming it. */
  static async load(dir: string = DEFAULT_IMAGERY_DIR, specs: readonly SpriteSpec[] = SPRITES): Promise<SpriteLibrary> {
    const settled = await Promise.allSettled(
      specs.map(async (spec): Promise<LoadedSprite> => {
        const path = join(dir, spec.file);
        let image: Buffer;
        try {
          image = await readFile(path);
        } catch (err) {
          throw new Error(`camera imagery: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); set imageryDir to the samples folder of ../shared/models`);
        }
        let meta;
        try {
          meta = await sharp(image).metadata();
        } catch (err) {
          throw new Error(`camera imagery: ${path} is not an image sharp can read: ${(err as Error).message}`);
        }
        const [x1, y1, x2, y2] = spec.object;
        if (!meta.width || !meta.height || x2 > meta.width || y2 > meta.height || x1 >= x2 || y1 >= y2) {
          throw new Error(`camera imagery: ${path} is ${meta.width}x${meta.height}, its object box [${spec.object.join(',')}] does not fit`);
        }
        if (spec.cropToObject) {
          const cropped = await sharp(image).extract({ left: x1, top: y1, width: x2 - x1, height: y2 - y1 }).png().toBuffer();
          return { spec: { ...spec, object: [0, 0, x2 - x1, y2 - y1] }, image: cropped, width: x2 - x1, height: y2 - y1, hasAlpha: meta.hasAlpha === true };
        }
        return { spec, image, width: meta.width, height: meta.height, hasAlpha: meta.hasAlpha === true };
      }),
    );
    // The first problem in list order (not in completion order), so the message does not vary.
    const failed = settled.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed.length > 0) {
      const more = failed.length > 1 ? ` (and ${failed.length - 1} more of the ${specs.length} imagery files)` : '';
      throw new Error(`${(failed[0]!.reason as Error).message}${more}`);
    }
    return new SpriteLibrary(settled.map((r) => (r as PromiseFulfilledResult<LoadedSprite>).value));
  }

  /** Indices of the sprites of a kind, and their weights. */
  choices(kind: SpriteKind): { index: number; weight: number }[] {
    return this.loaded.flatMap((s, index) => (s.spec.kind === kind ? [{ index, weight: s.spec.weight }] : []));
  }

  spec(index: number): SpriteSpec {
    return this.loaded[index]!.spec;
  }

  /** Object box aspect (height / width) of a sprite. */
  aspect(index: number): number {
    const [x1, y1, x2, y2] = this.loaded[index]!.spec.object;
    return (y2 - y1) / (x2 - x1);
  }

  /** Object width in px rounded to the bucket the renderer uses. */
  static bucket(objectWidth: number): number {
    return Math.max(BUCKET_PX, Math.round(objectWidth / BUCKET_PX) * BUCKET_PX);
  }

  /** The sprite scaled so that its object is `objectWidth` px wide (a bucket), optionally mirrored. */
  scaled(index: number, objectWidth: number, mirrored: boolean): Promise<ScaledSprite> {
    const width = SpriteLibrary.bucket(objectWidth);
    const key = `${index}|${width}|${mirrored ? 1 : 0}`;
    let entry = this.cache.get(key);
    if (!entry) {
      entry = this.scale(this.loaded[index]!, width, mirrored);
      this.cache.set(key, entry);
      entry.catch(() => this.cache.delete(key));
    }
    return entry;
  }

  private async scale(s: LoadedSprite, objectWidth: number, mirrored: boolean): Promise<ScaledSprite> {
    const [x1, y1, x2, y2] = s.spec.object;
    const factor = objectWidth / (x2 - x1);
    const width = Math.max(1, Math.round(s.width * factor));
    const height = Math.max(1, Math.round(s.height * factor));
    let pipeline = sharp(s.image).resize(width, height, { fit: 'fill' });
    if (mirrored) pipeline = pipeline.flop();
    pipeline = s.hasAlpha ? pipeline.ensureAlpha() : pipeline.removeAlpha();
    const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
    const ox1 = mirrored ? s.width - x2 : x1;
    const ox2 = mirrored ? s.width - x1 : x2;
    return {
      data,
      width: info.width,
      height: info.height,
      channels: info.channels === 4 ? 4 : 3,
      object: [Math.round(ox1 * factor), Math.round(y1 * factor), Math.round(ox2 * factor), Math.round(y2 * factor)],
    };
  }
}
