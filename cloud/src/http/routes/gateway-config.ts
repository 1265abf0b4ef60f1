/** A gateway's configuration shadow: desired (set by technicians) vs reported (what the gateway runs), and their history. */
import type { FastifyInstance } from 'fastify';
import { ConfigRequestError, type ConfigShadowService } from '../../config-shadow/service.js';
import { ConfigVersionConflictError } from '../../config-shadow/types.js';
import { UnknownGatewayError, type CloudStore } from '../../store/types.js';
import { ANY_ROLE, actorOf, type AccessControl } from '../access.js';
import { ConfigHistoryQuery, ConfigHistoryView, ConfigShadowView, PutConfigBody } from '../config-schemas.js';
import { ApiError, badRequest, notFound } from '../errors.js';
import { errorResponses, GatewayParams } from '../schemas.js';

export interface GatewayConfigRouteDeps {
  store: CloudStore;
  access: AccessControl;
  shadow: ConfigShadowService;
}

export function gatewayConfigRoutes(app: FastifyInstance, { store, access, shadow }: GatewayConfigRouteDeps): void {
  const known = async (gatewayId: string) => {
    if (!(await store.getGateway(gatewayId))) throw notFound(`gateway '${gatewayId}' is not registered`);
  };

  app.get<{ Params: { gatewayId: string } }>(
    '/api/v1/gateways/:gatewayId/config',
    {
      preHandler: access.require(...ANY_ROLE),
      schema: {
        tags: ['configuration'],
        summary: "A gateway's desired and reported configuration, whether they agree, and the last refusal (passwords never shown)",
        security: [{ bearer: [] }],
        params: GatewayParams,
        response: { 200: ConfigShadowView, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      await known(request.params.gatewayId);
      return shadow.view(request.params.gatewayId);
    },
  );

  app.put<{ Params: { gatewayId: string }; Body: PutConfigBody }>(
    '/api/v1/gateways/:gatewayId/config',
    {
      preHandler: access.require('admin', 'technician'),
      schema: {
        tags: ['configuration'],
        summary: 'Set the desired configuration (the next version); sent to the gateway now, or when it next comes online',
        description:
          'Answers after the gateway applied or refused it (desired.outcome), or at once with outcome pending when the gateway is offline. ' +
          'The gateway validates everything (profiles, transports, analytics) and applies all or nothing; a refusal is in lastError with its reasons.',
        security: [{ bearer: [] }],
        params: GatewayParams,
        body: PutConfigBody,
        response: { 200: ConfigShadowView, ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const { gatewayId } = request.params;
      await known(gatewayId);
      try {
        return await shadow.put(gatewayId, request.body.config, request.body.baseVersion, actorOf(request));
      } catch (err) {
        if (err instanceof ConfigRequestError) throw badRequest(err.message);
        if (err instanceof ConfigVersionConflictError) throw new ApiError(409, 'Conflict', err.message);
        if (err instanceof UnknownGatewayError) throw notFound(err.message);
        throw err;
      }
    },
  );

  app.get<{ Params: { gatewayId: string }; Querystring: ConfigHistoryQuery }>(
    '/api/v1/gateways/:gatewayId/config/history',
    {
      preHandler: access.require(...ANY_ROLE),
      schema: {
        tags: ['configuration'],
        summary: 'What happened to the configuration, newest first: desired versions (who), applied, refused (why), reported (cloud or local)',
        security: [{ bearer: [] }],
        params: GatewayParams,
        querystring: ConfigHistoryQuery,
        response: { 200: ConfigHistoryView, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      await known(request.params.gatewayId);
      return store.configs.history(request.params.gatewayId, request.query.limit);
    },
  );
}
