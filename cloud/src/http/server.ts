/** The HTTP API (fastify 5): JSON schemas on every route, OpenAPI 3 at /openapi.json, Swagger UI at /docs. */
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyServerFactory } from 'fastify';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import { Server as TlsServer } from 'node:tls';
import type { FleetService } from '../fleet/service.js';
import { fleetRoutes } from './routes/fleet.js';
import type { ConfigShadowService } from '../config-shadow/service.js';
import { gatewayConfigRoutes } from './routes/gateway-config.js';
import type { Logger } from 'pino';
import type { CloudStore } from '../store/types.js';
import { installErrorHandlers } from './errors.js';
import { cameraRoutes } from './routes/cameras.js';
import { dashboardRoutes } from './routes/dashboard.js';
import { dataRoutes } from './routes/data.js';
import { detectorRoutes } from './routes/detectors.js';
import { registryRoutes } from './routes/registry.js';
import { placementRoutes } from './routes/placement.js';
import { segmentRoutes } from './routes/segments.js';
import { messageRoutes } from './routes/messages.js';
import { screenRoutes } from './routes/screens.js';
import type { SignCatalogue } from '../dispatch/content.js';
import type { DispatchService } from '../dispatch/service.js';
import type { SnapshotService } from '../cameras/snapshots.js';
import { Health } from './schemas.js';
import { signedInByDefault, type AccessControl } from './access.js';
import { Accounts } from '../auth/accounts.js';
import { authRoutes, type LoginLimiters } from './routes/auth.js';
import { userRoutes } from './routes/users.js';
import { updateRoutes, type UpdateRouteDeps } from './routes/updates.js';

export interface HttpApiOptions {
  store: CloudStore;
  adminToken: string;
  /** Users, sessions and API tokens; built on store.users with adminToken when absent. */
  accounts?: Accounts | undefined;
  /** Who may call which route; `accounts` when absent. */
  access?: AccessControl | undefined;
  /** Failed-login limits; 5 per username and 20 per address in 5 minutes when absent. */
  loginLimiters?: LoginLimiters | undefined;
  logger: Logger;
  health: () => Health;
  /** Guidance screens; their routes are left out when absent. */
  dispatch?: DispatchService | undefined;
  catalogue?: SignCatalogue | undefined;
  /** Enrolment, sites and grid cells, revocation and rotation; their routes are left out when absent. */
  fleet?: FleetService | undefined;
  /** Desired vs reported gateway configuration; its routes are left out when absent. */
  configShadow?: ConfigShadowService | undefined;
  /** Serve HTTPS with this certificate and key (PEM). */
  https?: { cert: string; key: string } | undefined;
  /** Full camera snapshots; the snapshot route is left out when absent. */
  snapshots?: SnapshotService | undefined;
  /** The built dashboard served at `/`; dashboard/dist of this repository by default. */
  dashboardDir?: string | undefined;
  /** Update bundles and rollouts; their routes are left out when absent. */
  updates?: Omit<UpdateRouteDeps, 'store' | 'access'> | undefined;
}

export async function buildHttpApi(options: HttpApiOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger.child({ component: 'http' }) as FastifyBaseLogger,
    // Requests are not logged one by one; failures are, by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    // Reject unknown body fields instead of silently dropping them.
    ajv: { customOptions: { removeAdditional: false } },
    serverFactory: httpsFactory(options.https),
  });
  installErrorHandlers(app);
  const accounts = options.accounts ?? new Accounts({ users: options.store.users, adminToken: options.adminToken });
  const access = options.access ?? accounts;
  // Before any route: every /api/ route then needs a signed-in user unless it is marked public.
  signedInByDefault(app, access);
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
    { config: { public: true }, schema: { tags: ['operations'], summary: 'Liveness, MQTT link and ingest counters', response: { 200: Health } } },
    async () => options.health(),
  );
  authRoutes(app, { store: options.store, accounts, access, limiters: options.loginLimiters });
  userRoutes(app, { store: options.store, accounts, access });
  registryRoutes(app, options.store, access);
  placementRoutes(app, { store: options.store, access });
  if (options.fleet) fleetRoutes(app, { store: options.store, access, fleet: options.fleet });
  if (options.configShadow) gatewayConfigRoutes(app, { store: options.store, access, shadow: options.configShadow });
  dataRoutes(app, options.store);
  segmentRoutes(app, options.store, access);
  detectorRoutes(app, options.store);
  cameraRoutes(app, options.store, options.snapshots);
  if (options.updates) await updateRoutes(app, { store: options.store, access, ...options.updates });
  if (options.dispatch && options.catalogue) {
    const deps = { store: options.store, access, dispatch: options.dispatch, catalogue: options.catalogue };
    messageRoutes(app, deps);
    screenRoutes(app, deps);
  }
  await dashboardRoutes(app, options.dashboardDir);
  return app;
}

/** An https.Server handles requests like an http.Server; fastify's types tie the server kind to its generics. */
function httpsFactory(https: HttpApiOptions['https']): FastifyServerFactory<HttpServer> | undefined {
  if (!https) return undefined;
  return (handler) => createHttpsServer(https, handler) as unknown as HttpServer;
}

/** Listens and returns the base URL (http://host:port). */
export async function listenHttp(app: FastifyInstance, host: string, port: number): Promise<string> {
  await app.listen({ host, port });
  const address = app.server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `${app.server instanceof TlsServer ? 'https' : 'http'}://${urlHost}:${address.port}`;
}
