/**
 * Guidance-screen messages: create (validated against every target screen's sign), list, cancel,
 * resend; their dispatches and history; previews and page images.
 * Writes need role admin or controller and are audited with the signed-in user as actor.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { renderFor, type SignCatalogue } from '../../dispatch/content.js';
import { listScreens } from '../../dispatch/screens.js';
import type { DispatchService } from '../../dispatch/service.js';
import { UnknownMessageError } from '../../dispatch/types.js';
import type { CloudStore } from '../../store/types.js';
import { ApiError, badRequest, notFound } from '../errors.js';
import {
  DispatchQuery,
  DispatchView,
  HistoryView,
  IdParams,
  MessageQuery,
  MessageView,
  MessageWithDispatches,
  NewMessageBody,
  PageParams,
  PageQuery,
  PreviewBody,
  PreviewView,
} from '../dispatch-schemas.js';
import { errorResponses } from '../schemas.js';
import { actorOf, type AccessControl } from '../access.js';

export interface DispatchRouteDeps {
  store: CloudStore;
  access: AccessControl;
  dispatch: DispatchService;
  catalogue: SignCatalogue;
}

export function messageRoutes(app: FastifyInstance, deps: DispatchRouteDeps): void {
  const { store, dispatch, catalogue } = deps;
  const controller = deps.access.require('admin', 'controller');
  const security = [{ bearer: [] }];

  app.post<{ Body: NewMessageBody }>(
    '/api/v1/messages',
    {
      preHandler: controller,
      schema: {
        tags: ['signs'],
        summary: 'Create a message for guidance screens; one dispatch per screen, sent per gateway',
        security,
        body: NewMessageBody,
        response: { 201: MessageWithDispatches, ...errorResponses(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const created = await dispatch.dispatcher.createMessage(request.body as never, { actor: actorOf(request), source: 'operator' });
      return reply.code(201).send(created);
    },
  );

  app.get<{ Querystring: typeof MessageQuery.static }>(
    '/api/v1/messages',
    {
      schema: {
        tags: ['signs'],
        summary: 'Messages, newest first; active = not cancelled and not ended',
        querystring: MessageQuery,
        response: { 200: Type.Object({ messages: Type.Array(MessageView) }), ...errorResponses(400) },
      },
    },
    async (request) => ({
      messages: await store.dispatch.listMessages({ ...request.query, now: dispatch.dispatcher.now() }),
    }),
  );

  app.get<{ Params: typeof IdParams.static }>(
    '/api/v1/messages/:id',
    {
      schema: {
        tags: ['signs'],
        summary: 'One message with its dispatches',
        params: IdParams,
        response: { 200: MessageWithDispatches, ...errorResponses(400, 404) },
      },
    },
    async (request) => {
      const message = await store.dispatch.getMessage(request.params.id);
      if (!message) throw new UnknownMessageError(request.params.id);
      return { message, dispatches: await store.dispatch.listDispatches({ messageId: message.id, limit: 10_000 }) };
    },
  );

  for (const [action, summary] of [
    ['cancel', 'Cancel a message: sign.cancel to online gateways; offline ones get the corrected set when they return'],
    ['resend', 'Send again the dispatches that failed or are still queued/sent'],
  ] as const) {
    app.post<{ Params: typeof IdParams.static }>(
      `/api/v1/messages/:id/${action}`,
      {
        preHandler: controller,
        schema: {
          tags: ['signs'],
          summary,
          security,
          params: IdParams,
          response: { 200: MessageWithDispatches, ...errorResponses(400, 401, 403, 404, 409) },
        },
      },
      async (request) =>
        action === 'cancel'
          ? dispatch.dispatcher.cancelMessage(request.params.id, actorOf(request))
          : dispatch.dispatcher.resendMessage(request.params.id, actorOf(request)),
    );
  }

  app.get<{ Querystring: typeof DispatchQuery.static }>(
    '/api/v1/dispatches',
    {
      schema: {
        tags: ['signs'],
        summary: 'Dispatch records (one per message and screen), filtered',
        querystring: DispatchQuery,
        response: { 200: Type.Object({ dispatches: Type.Array(DispatchView) }), ...errorResponses(400) },
      },
    },
    async (request) => {
      const { gateway, device, state, message, limit } = request.query;
      return { dispatches: await store.dispatch.listDispatches({ gatewayId: gateway, deviceId: device, state, messageId: message, limit }) };
    },
  );

  app.get<{ Params: typeof IdParams.static }>(
    '/api/v1/dispatches/:id/history',
    {
      schema: {
        tags: ['signs'],
        summary: "A dispatch's state changes, oldest first (refused moves included, applied=false)",
        params: IdParams,
        response: { 200: Type.Object({ history: Type.Array(HistoryView) }), ...errorResponses(400, 404) },
      },
    },
    async (request) => ({ history: await store.dispatch.history(request.params.id) }),
  );

  /** Capabilities of a profile id, or of a screen's profile. */
  const capsFor = async (profile: string | undefined, screen: string | undefined) => {
    if ((profile === undefined) === (screen === undefined)) throw badRequest("give exactly one of 'profile' or 'screen'");
    let profileId = profile!;
    if (screen !== undefined) {
      const found = (await listScreens(store)).find((s) => s.key === screen);
      if (!found) throw notFound(`screen '${screen}' is not a known guidance screen`);
      if (found.profile === null) throw badRequest(`screen '${screen}' has no profile`);
      profileId = found.profile;
    }
    const caps = catalogue.capabilities(profileId);
    if (!caps) throw badRequest(`profile '${profileId}' has no sign capabilities this cloud knows (known: ${catalogue.profiles().join(', ')})`);
    return { profileId, caps };
  };

  app.post<{ Body: typeof PreviewBody.static }>(
    '/api/v1/preview',
    {
      schema: {
        tags: ['signs'],
        summary: 'Validate and render content for a profile or a screen: canonical MULTI, CRC, problems, PNG pages',
        body: PreviewBody,
        response: { 200: PreviewView, ...errorResponses(400, 404) },
      },
    },
    async (request) => {
      const { multi, form, profile, screen, scale } = request.body;
      if ((multi === undefined) === (form === undefined)) throw badRequest('give the content as exactly one of multi or form');
      const { profileId, caps } = await capsFor(profile, screen);
      const rendered = await renderFor({ multi, form: form as never }, caps, scale);
      return { profile: profileId, ...rendered, pages: rendered.pages.map((png) => png.toString('base64')) };
    },
  );

  app.get<{ Params: typeof PageParams.static; Querystring: typeof PageQuery.static }>(
    '/api/v1/messages/:id/pages/:n.png',
    {
      schema: {
        tags: ['signs'],
        summary: "One page of a message as a screen shows it (PNG); the screen defaults to the message's first",
        params: PageParams,
        querystring: PageQuery,
        produces: ['image/png'],
        response: { ...errorResponses(400, 404) },
      },
    },
    async (request, reply) => {
      const message = await store.dispatch.getMessage(request.params.id);
      if (!message) throw new UnknownMessageError(request.params.id);
      let screen = request.query.screen;
      if (screen === undefined) {
        const first = (await store.dispatch.listDispatches({ messageId: message.id, limit: 1 }))[0];
        if (!first) throw notFound(`message '${message.id}' has no screens; give ?screen=gateway/device`);
        screen = `${first.gatewayId}/${first.deviceId}`;
      }
      const { caps } = await capsFor(undefined, screen);
      const rendered = await renderFor({ multi: message.multi }, caps, request.query.scale ?? 4);
      if (rendered.problems.length > 0) {
        throw new ApiError(400, 'BadRequest', `message '${message.id}' does not fit screen ${screen}: ${rendered.problems[0]!.message}`, rendered.problems);
      }
      const page = rendered.pages[request.params.n - 1];
      if (!page) throw notFound(`message '${message.id}' has ${rendered.pages.length} page(s), not ${request.params.n}`);
      return reply.type('image/png').send(page);
    },
  );
}
