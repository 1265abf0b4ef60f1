/** Snapshots: drawn with sharp, kept under a disk budget (oldest first), rate-limited, refused ids. */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import pino from 'pino';
import sharp from 'sharp';
import { renderSnapshot, SnapshotRateLimit, SnapshotStore } from '../../src/video/snapshots.js';

const dir = mkdtempSync(join(tmpdir(), 'quanlink-snapshots-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const logger = pino({ level: 'silent' });

describe('snapshots', () => {
  it('issue 5: the box and the line are drawn on the frame; the thumbnail fits its limit', async () => {
    const width = 352;
    const height = 352;
    const frame = { data: Buffer.alloc(width * height * 3, 100), width, height, ts: Date.now() };
    const rendered = await renderSnapshot(frame, { boxes: [{ box: [100, 100, 200, 180], label: 'car #3 forward' }], line: [{ x: 0, y: 176 }, { x: 351, y: 176 }] }, { thumbnailMaxBytes: 8000 });
    assert.deepEqual([rendered.width, rendered.height], [width, height]);
    assert.ok(rendered.thumbnail && rendered.thumbnail.length <= 8000);
    const { data, info } = await sharp(rendered.jpeg).raw().toBuffer({ resolveWithObject: true });
    const px = (x: number, y: number) => [...data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + 3)];
    const [r, g] = px(100, 140); // on the box's left edge: red
    assert.ok(r! > 180 && g! < 120, `box edge ${px(100, 140)}`);
    const [lr, lg, lb] = px(20, 176); // on the line: cyan
    assert.ok(lr! < 100 && lg! > 160 && lb! > 160, `line ${px(20, 176)}`);
    const inside = px(150, 140); // inside the box: the frame as it was
    assert.ok(Math.abs(inside[0]! - 100) < 12, `inside ${inside}`);
    const tiny = await renderSnapshot(frame, { boxes: [] }, { thumbnailMaxBytes: 10 });
    assert.equal(tiny.thumbnail, undefined, 'no thumbnail rather than one over the limit');
  });

  it('issue 5: a label is written next to its box, and a zone polygon is tinted', async () => {
    const width = 352;
    const height = 352;
    const frame = { data: Buffer.alloc(width * height * 3, 100), width, height, ts: Date.now() };
    const before = Buffer.from(frame.data);
    const box: [number, number, number, number] = [100, 100, 200, 180];
    const polygon = [{ x: 20, y: 250 }, { x: 150, y: 250 }, { x: 150, y: 330 }, { x: 20, y: 330 }];
    const decode = async (jpeg: Buffer) => (await sharp(jpeg).raw().toBuffer({ resolveWithObject: true })).data;
    /** Red pixels in the band just above the box, where the label goes. */
    const redAbove = (data: Buffer) => {
      let n = 0;
      for (let y = 80; y < 97; y++) for (let x = 100; x < 260; x++) if (data[(y * width + x) * 3]! > 170 && data[(y * width + x) * 3 + 1]! < 110) n++;
      return n;
    };
    const labelled = await decode((await renderSnapshot(frame, { boxes: [{ box, label: 'car 0.87 #12' }], polygon }, { thumbnailMaxBytes: 32_768 })).jpeg);
    const bare = await decode((await renderSnapshot(frame, { boxes: [{ box }] }, { thumbnailMaxBytes: 32_768 })).jpeg);
    assert.ok(redAbove(labelled) > 40, `label strokes above the box: ${redAbove(labelled)} red pixels`);
    assert.equal(redAbove(bare), 0, 'no label, no text');
    const at = (data: Buffer, x: number, y: number) => [...data.subarray((y * width + x) * 3, (y * width + x) * 3 + 3)];
    const [r, g, b] = at(labelled, 80, 290); // inside the zone: grey pulled towards amber
    assert.ok(r! > 115 && g! > 105 && b! < 90, `zone tint ${[r, g, b]}`);
    assert.ok(Math.abs(at(bare, 80, 290)[0]! - 100) < 8, 'no zone, no tint');
    assert.deepEqual(frame.data, before, 'the frame itself is left as it was');
  });

  it('issue 5: the store keeps its total under the budget by deleting the oldest, and survives a restart', async () => {
    const folder = join(dir, 'cam-1');
    const store = await SnapshotStore.open(folder, 10_000, logger);
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push(await store.put(Buffer.alloc(3000, i), 1_000_000 + i));
    assert.ok(store.stats.bytes <= 10_000);
    assert.equal(store.stats.count, 3);
    for (const id of ids.slice(0, 7)) assert.equal(await store.get(id), undefined, 'evicted');
    assert.deepEqual(await store.get(ids[9]!), Buffer.alloc(3000, 9));
    assert.equal(readdirSync(folder).length, 3);
    writeFileSync(join(folder, 'not-a-snapshot.txt'), 'x');
    const reopened = await SnapshotStore.open(folder, 5000, logger);
    assert.equal(reopened.stats.count, 1, 'a smaller budget after restart evicts at once');
    assert.deepEqual(await reopened.get(ids[9]!), Buffer.alloc(3000, 9));
    assert.equal(await reopened.get('../cam-1/x'), undefined);
    assert.equal(await reopened.get('not-a-snapshot'), undefined);
  });

  it('issue 5: at most N snapshots a second, with a burst of N', () => {
    const limit = new SnapshotRateLimit(2);
    const t = 1_000_000;
    assert.deepEqual([limit.allow(t), limit.allow(t + 10), limit.allow(t + 20)], [true, true, false]);
    assert.equal(limit.allow(t + 400), false);
    assert.equal(limit.allow(t + 520), true, 'half a second later one more');
    let allowed = 0;
    for (let ms = 0; ms < 10_000; ms += 20) if (limit.allow(t + 1000 + ms)) allowed++;
    assert.ok(allowed >= 19 && allowed <= 22, `${allowed} in 10 s`);
  });
});
