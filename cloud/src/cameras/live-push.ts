/**
 * Pushes camera news on the WebSocket hub: every stored video event (topic 'video') and every
 * pipeline state change or camera described by a birth (topic 'camera'), after the store committed it.
 */
import type { Logger } from 'pino';
import type { LiveHub } from '../dispatch/live.js';
import type { Ingest } from '../ingest/ingest.js';
import type { CloudStore } from '../store/types.js';
import { videoEventView } from './views.js';

export function pushCameraNews(ingest: Pick<Ingest, 'listen'>, store: CloudStore, hub: LiveHub, logger: Logger): () => void {
  return ingest.listen({
    batchCommitted: (_gatewayId, result) => {
      for (const event of result.videoEvents ?? []) hub.publish({ type: 'video', event: { ...videoEventView(event) } });
      for (const change of result.pipelineChanges ?? []) {
        void store
          .getCamera(change.gatewayId, change.deviceId)
          .then((camera) => hub.publish({ type: 'camera', camera: { ...(camera ?? change) } }))
          .catch((err: unknown) => logger.warn({ gateway: change.gatewayId, device: change.deviceId, operation: 'push camera', err }, 'camera not pushed'));
      }
    },
    birth: (gatewayId, birth) => {
      const described = birth.devices.filter((d) => d.kind === 'camera' || d.camera !== undefined);
      if (described.length === 0) return;
      void store
        .listCameras({ gatewayId })
        .then((cameras) => {
          const ids = new Set(described.map((d) => d.id));
          for (const camera of cameras) if (ids.has(camera.deviceId)) hub.publish({ type: 'camera', camera: { ...camera } });
        })
        .catch((err: unknown) => logger.warn({ gateway: gatewayId, operation: 'push cameras of birth', err }, 'cameras not pushed'));
    },
  });
}
