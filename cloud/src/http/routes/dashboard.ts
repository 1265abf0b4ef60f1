/**
 * The operations dashboard (dashboard/, built by Vite into dashboard/dist) served at `/`. Its client
 * routes (/map, /screens ...) get index.html so a reload or a shared link works; /api, /docs and
 * /openapi.json are never answered with it, and a path that looks like a file (has an extension)
 * stays a 404. Without a build the cloud runs as before and says so once in its log.
 */
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** dashboard/dist in this repository. */
export const DEFAULT_DASHBOARD_DIR = fileURLToPath(new URL('../../../../dashboard/dist', import.meta.url));

const NOT_CLIENT_ROUTES = /^\/(api|docs|openapi\.json)(\/|$|\?)/;

export async function dashboardRoutes(app: FastifyInstance, dir: string = DEFAULT_DASHBOARD_DIR): Promise<void> {
  if (!existsSync(join(dir, 'index.html'))) {
    app.log.info({ operation: 'serve dashboard', dir }, 'no dashboard build; run `npm run build` to serve the dashboard at /');
    return;
  }
  // Built assets are content-hashed: they may be cached for good; index.html must be fetched fresh.
  await app.register(fastifyStatic, {
    root: dir,
    wildcard: false,
    index: 'index.html',
    setHeaders: (res, path) => res.header('cache-control', path.endsWith('index.html') ? 'no-cache' : 'public, max-age=31536000, immutable'),
  });
  app.get('/*', { schema: { hide: true } }, (request, reply) => {
    const path = request.url.split('?')[0]!;
    if (NOT_CLIENT_ROUTES.test(path) || /\.[A-Za-z0-9]+$/.test(path)) return reply.callNotFound();
    return reply.header('cache-control', 'no-cache').sendFile('index.html');
  });
}
