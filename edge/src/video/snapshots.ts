/**
 * Event snapshots: the analysed frame with the object's box (and the line or zone concerned) drawn
 * on it (overlay.ts, straight into the pixels), encoded as JPEG by sharp. The full picture stays on the gateway, in one folder per camera under a
 * disk budget (the oldest go first), and is fetched with the `snapshot.get` command; a thumbnail
 * small enough for the event itself travels in the event's `snapshot` field.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Logger } from 'pino';
import type { SnapshotRef } from '@quanlink/contracts';
import type { RgbFrame } from './ingest.js';
import { drawOverlay, type SnapshotOverlay } from './overlay.js';

export type { BoxXYXY, PixelPoint, SnapshotOverlay } from './overlay.js';

export interface RenderedSnapshot {
  jpeg: Buffer;
  width: number;
  height: number;
  /** Base64 JPEG no longer than the limit; absent when even the smallest try is too big. */
  thumbnail?: string;
}

export const SNAPSHOT_ID = /^[A-Za-z0-9_-]{1,64}$/;
const FILE = /^([A-Za-z0-9_-]{1,64})\.jpg$/;
const THUMBNAIL_TRIES = [
  { width: 192, quality: 60 },
  { width: 128, quality: 50 },
  { width: 96, quality: 40 },
];
/** A smaller try is skipped when the first one's bytes, scaled by area, say it would still be this much over the limit. */
const SKIP_TRY_ABOVE = 1.5;

/** Draws the overlay on a copy of the frame and encodes the full JPEG and a thumbnail of at most thumbnailMaxBytes base64 characters. */
export async function renderSnapshot(frame: RgbFrame, overlay: SnapshotOverlay, opts: { thumbnailMaxBytes: number; quality?: number }): Promise<RenderedSnapshot> {
  const { width, height } = frame;
  // A copy: the frame itself may still be read by others (the benchmark reuses its frames).
  const drawn = Buffer.from(frame.data);
  await drawOverlay(drawn, width, height, overlay);
  const image = sharp(drawn, { raw: { width, height, channels: 3 } });
  // Without Huffman optimisation the encode takes half the time for about 2 % more bytes.
  const jpeg = await image.clone().jpeg({ quality: opts.quality ?? 80, optimiseCoding: false }).toBuffer();
  const result: RenderedSnapshot = { jpeg, width, height };
  let first: { width: number; length: number } | undefined;
  for (const [i, attempt] of THUMBNAIL_TRIES.entries()) {
    const thumbWidth = Math.min(width, attempt.width);
    const last = i === THUMBNAIL_TRIES.length - 1;
    // Bytes grow about with the area: no need to encode a size the first try shows to be far too big.
    if (first && !last && first.length * (thumbWidth / first.width) ** 2 > opts.thumbnailMaxBytes * SKIP_TRY_ABOVE) continue;
    const small = await image.clone().resize({ width: thumbWidth }).jpeg({ quality: attempt.quality, optimiseCoding: false }).toBuffer();
    const base64 = small.toString('base64');
    if (base64.length <= opts.thumbnailMaxBytes) {
      result.thumbnail = base64;
      break;
    }
    first ??= { width: thumbWidth, length: base64.length };
  }
  return result;
}

/** At most `perSecond` snapshots, with a burst of max(1, perSecond): a busy road must not thrash the disk. */
export class SnapshotRateLimit {
  private tokens: number;
  private last = 0;

  constructor(private readonly perSecond: number) {
    this.tokens = this.capacity;
  }

  private get capacity(): number {
    return Math.max(1, this.perSecond);
  }

  allow(now: number): boolean {
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

interface StoredFile {
  id: string;
  bytes: number;
  at: number;
}

/** One camera's snapshots on disk: dir/<id>.jpg, total size kept under budgetBytes by deleting the oldest. */
export class SnapshotStore {
  private files: StoredFile[] = [];
  private total = 0;
  private counter = 0;

  private constructor(
    readonly dir: string,
    private readonly budgetBytes: number,
    private readonly logger: Logger,
  ) {}

  /** Opens (creates) the folder and takes stock of what a previous run left. */
  static async open(dir: string, budgetBytes: number, logger: Logger): Promise<SnapshotStore> {
    const store = new SnapshotStore(dir, budgetBytes, logger);
    await mkdir(dir, { recursive: true });
    for (const name of await readdir(dir)) {
      const id = FILE.exec(name)?.[1];
      if (!id) continue;
      const s = await stat(join(dir, name)).catch(() => undefined);
      if (s?.isFile()) store.files.push({ id, bytes: s.size, at: s.mtimeMs });
    }
    store.files.sort((a, b) => a.at - b.at || a.id.localeCompare(b.id));
    store.total = store.files.reduce((sum, f) => sum + f.bytes, 0);
    await store.evict();
    return store;
  }

  get stats(): { count: number; bytes: number; budgetBytes: number } {
    return { count: this.files.length, bytes: this.total, budgetBytes: this.budgetBytes };
  }

  has(id: string): boolean {
    return this.files.some((f) => f.id === id);
  }

  /** Stores a JPEG; returns its id (time-ordered, unique). */
  async put(jpeg: Buffer, now = Date.now()): Promise<string> {
    const id = `${now.toString(36)}-${(this.counter++ % 1296).toString(36).padStart(2, '0')}${randomBytes(3).toString('hex')}`;
    const file = join(this.dir, `${id}.jpg`);
    // Written under a temporary name first: a crash never leaves half a JPEG under a real id.
    await writeFile(`${file}.tmp`, jpeg);
    await rename(`${file}.tmp`, file);
    this.files.push({ id, bytes: jpeg.length, at: now });
    this.total += jpeg.length;
    await this.evict();
    return id;
  }

  /** The JPEG, or undefined for an unknown (or evicted, or malformed) id. */
  async get(id: string): Promise<Buffer | undefined> {
    if (!SNAPSHOT_ID.test(id) || !this.has(id)) return undefined;
    return readFile(join(this.dir, `${id}.jpg`)).catch(() => undefined);
  }

  private async evict(): Promise<void> {
    while (this.total > this.budgetBytes && this.files.length > 0) {
      const oldest = this.files.shift()!;
      this.total -= oldest.bytes;
      await unlink(join(this.dir, `${oldest.id}.jpg`)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') this.logger.warn({ err: err.message, file: oldest.id, operation: 'snapshot eviction' }, 'could not delete an old snapshot');
      });
    }
  }
}

/** The reference an event carries. */
export function snapshotRef(id: string, rendered: RenderedSnapshot): SnapshotRef {
  return { id, width: rendered.width, height: rendered.height, bytes: rendered.jpeg.length, ...(rendered.thumbnail ? { thumbnail: rendered.thumbnail } : {}) };
}
