/**
 * Issue 5: the composed road scene is one a real detector sees. FastestDet (../shared/models)
 * runs on frames of the default scene; every vehicle whose box lies inside the frame must be
 * found (vehicle class, IoU >= 0.5) in at least 80 % of the cases.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { it } from 'node:test';
import { RoadScene } from '../../src/camera/scene.js';
import { MODEL_PATH, VEHICLE_CLASSES, iou, loadDetector } from './helpers/fastestdet.js';

it('issue 5: FastestDet finds the vehicles of the default scene (recall >= 0.8 over 20 frames)', { skip: existsSync(MODEL_PATH) ? false : `no model at ${MODEL_PATH}` }, async (t) => {
  const detect = await loadDetector();
  let now = 1_700_000_000_000;
  const scene = new RoadScene({ now: () => now });
  await scene.ready();
  let frames = 0;
  let vehicles = 0;
  let found = 0;
  let falseAlarms = 0;
  const misses: string[] = [];
  while (frames < 20) {
    now += 900;
    const f = await scene.render();
    const visible = f.objects.filter((o) => o.kind === 'vehicle' && o.box[0] >= 0 && o.box[1] >= 0 && o.box[2] <= f.width && o.box[3] <= f.height);
    if (visible.length === 0) continue;
    frames++;
    const detections = (await detect(f.data, f.width, f.height)).filter((d) => VEHICLE_CLASSES.has(d.cls));
    for (const o of visible) {
      vehicles++;
      const best = Math.max(0, ...detections.map((d) => iou(d.box, o.box)));
      if (best >= 0.5) found++;
      else misses.push(`${o.label} ${o.box.join(',')} (best IoU ${best.toFixed(2)})`);
    }
    falseAlarms += detections.filter((d) => !f.objects.some((o) => iou(o.box, d.box) >= 0.3)).length;
  }
  const recall = found / vehicles;
  t.diagnostic(`FastestDet recall on the default scene: ${found}/${vehicles} = ${recall.toFixed(3)} over ${frames} frames; vehicle detections matching nothing: ${falseAlarms}`);
  if (misses.length) t.diagnostic(`missed: ${misses.join('; ')}`);
  assert.ok(vehicles >= 25, `enough vehicles to judge (${vehicles})`);
  assert.ok(recall >= 0.8, `recall ${recall.toFixed(3)}`);
});
