/** The HTTP API (fastify 5): JSON schemas on every route, OpenAPI 3 at /openapi.json, Swagger UI at /docs. */
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { CloudStore } from '../store/types.js';
import { installErrorHandlers } from './errors.js';
import { cameraRoutes } from './routes/cameras.js';
import { dataRoutes } from './routes/data.js';
import { detectorRoutes } from './routes/detectors.js';
import { registryRoutes } from './routes/registry.js';
import { segmentRoutes } from './routes/segments.js';
import { messageRoutes } from './routes/messages.js';
import { screenRoutes } from './routes/screens.js';
import type { SignCatalogue } from '../dispatch/content.js';
import type { DispatchService } from '../dispatch/service.js';
import type { SnapshotService } from '../cameras/snapshots.js';
import { Health } from './schemas.js';
import { adminTokenAccess, type AccessControl } from './access.js';

export interface HttpApiOptions {
  store: CloudStore;
  adminToken: string;
  /** Who may call which route; the bootstrap admin token alone when absent. */
  access?: AccessControl | undefined;
  logger: Logger;
  health: () => Health;
  /** Guidance screens; their routes are left out when absent. */
  dispatch?: DispatchService | undefined;
  catalogue?: SignCatalogue | undefined;
  /** Full camera snapshots; the snapshot route is left out when absent. */
  snapshots?: SnapshotService | undefined;
}

export async function buildHttpApi(options: HttpApiOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger.child({ component: 'http' }) as FastifyBaseLogger,
    // Requests are not logged one by one; failures are, by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    // Reject unknown body fields instead of silently dropping them.
    ajv: { customOptions: { removeAdditional: false } },
  });
  installErrorHandlers(app);
  const access = options.access ?? adminTokenAccess(options.adminToken);
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Quanlink cloud API', version: '1', description: 'Registry of gateways and devices, their stored events, road segments with GB/T 33171 traffic state grades, detector health, guidance screens (messages, dispatches, audit, automatic guidance), and cameras (registry, video events with thumbnails, full snapshots, lane counts); live push on the WebSocket /api/v1/ws.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.get(
    '/api/v1/health',
    { schema: { tags: ['operations'], summary: 'Liveness, MQTT link and ingest counters', response: { 200: Health } } },
    async () => options.health(),
  );
  registryRoutes(app, options.store, access);
  dataRoutes(app, options.store);
  segmentRoutes(app, options.store, access);
  detectorRoutes(app, options.store);
  cameraRoutes(app, options.store, options.snapshots);
  if (options.dispatch && options.catalogue) {
    const deps = { store: options.store, access, dispatch: options.dispatch, catalogue: options.catalogue };
    messageRoutes(app, deps);
    screenRoutes(app, deps);
  }
  return app;
}

/** Listens and returns the base URL (http://host:port). */
export async function listenHttp(app: FastifyInstance, host: string, port: number): Promise<string> {
  await app.listen({ host, port });
  const address = app.server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${urlHost}:${address.port}`;
}
