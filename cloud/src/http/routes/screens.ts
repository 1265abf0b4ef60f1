/** Guidance screens (what births say, what operators add, what the screen reports), the audit log, guidance rules and proposals. */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { listScreens, screenKey } from '../../dispatch/screens.js';
import type { GuidanceRule } from '../../dispatch/types.js';
import { notFound } from '../errors.js';
import {
  AuditQuery,
  AuditView,
  ProposalQuery,
  ProposalView,
  RuleBody,
  RuleParams,
  RuleView,
  IdParams,
  ScreenParams,
  ScreenPatch,
  ScreenView,
} from '../dispatch-schemas.js';
import { errorResponses } from '../schemas.js';
import { parseTimeParam } from '../time-param.js';
import { actorOf } from '../access.js';
import type { DispatchRouteDeps } from './messages.js';

export function screenRoutes(app: FastifyInstance, deps: DispatchRouteDeps): void {
  const { store, dispatch } = deps;
  const screenEditor = deps.access.require('admin', 'controller', 'technician');
  const controller = deps.access.require('admin', 'controller');
  const security = [{ bearer: [] }];

  const screenViews = async () => {
    const [screens, conditions, displayed, devices] = await Promise.all([
      listScreens(store),
      store.dispatch.listScreenConditions(),
      store.dispatch.displayedMessages(),
      store.listDevices({ kind: 'vms' }),
    ]);
    const conditionOf = new Map(conditions.map((c) => [screenKey(c.gatewayId, c.deviceId), c]));
    const stateOf = new Map(devices.map((d) => [screenKey(d.gatewayId, d.deviceId), d.state]));
    return screens.map((screen) => {
      const condition = conditionOf.get(screen.key);
      const { gatewayId: _g, deviceId: _d, ...conditionFields } = condition ?? { gatewayId: '', deviceId: '' };
      return {
        ...screen,
        state: stateOf.get(screen.key) ?? 'unknown',
        condition: condition ? conditionFields : null,
        displayed: displayed.get(screen.key) ?? null,
      };
    });
  };

  app.get(
    '/api/v1/screens',
    {
      schema: {
        tags: ['signs'],
        summary: 'Every guidance screen: profile, groups, segment, corridor, condition, the message it displays',
        response: { 200: Type.Object({ screens: Type.Array(ScreenView) }) },
      },
    },
    async () => ({ screens: await screenViews() }),
  );

  app.put<{ Params: typeof ScreenParams.static; Body: typeof ScreenPatch.static }>(
    '/api/v1/screens/:gateway/:device',
    {
      preHandler: screenEditor,
      schema: {
        tags: ['signs'],
        summary: "Set a screen's name, groups, road segment, corridor or location (absent fields are kept)",
        security,
        params: ScreenParams,
        body: ScreenPatch,
        response: { 200: ScreenView, ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => {
      const { gateway, device } = request.params;
      const key = screenKey(gateway, device);
      if (!(await listScreens(store)).some((s) => s.key === key)) throw notFound(`screen '${key}' is not a known guidance screen`);
      const { audit } = await store.dispatch.putScreenMeta(gateway, device, request.body, {
        at: dispatch.dispatcher.now(),
        actor: actorOf(request),
        action: 'screen.update',
        subject: `screen:${key}`,
        details: { ...request.body },
      });
      dispatch.dispatcher.pushAudit(audit);
      const view = (await screenViews()).find((s) => s.key === key)!;
      deps.dispatch.dispatcher.pushScreen(view);
      return view;
    },
  );

  app.get<{ Querystring: typeof AuditQuery.static }>(
    '/api/v1/audit',
    {
      schema: {
        tags: ['signs'],
        summary: 'Audit log of changes made through the API and by automatic guidance, newest first',
        querystring: AuditQuery,
        response: { 200: Type.Object({ entries: Type.Array(AuditView) }), ...errorResponses(400) },
      },
    },
    async (request) => ({
      entries: await store.dispatch.listAudit({
        since: parseTimeParam('since', request.query.since),
        actor: request.query.actor,
        action: request.query.action,
        limit: request.query.limit,
      }),
    }),
  );

  // ---- guidance rules and proposals ---------------------------------------------------------

  const ruleView = async (id: string) => {
    const rule = await store.dispatch.getRule(id);
    if (!rule) return undefined;
    const state = await store.dispatch.getRuleState(id);
    return { ...rule, state: state ? { since: state.since, messageId: state.messageId, proposalId: state.proposalId } : null };
  };

  app.put<{ Params: typeof RuleParams.static; Body: typeof RuleBody.static }>(
    '/api/v1/guidance-rules/:id',
    {
      preHandler: controller,
      schema: {
        tags: ['guidance'],
        summary: 'Create or replace an automatic guidance rule (validated against its target screens)',
        security,
        params: RuleParams,
        body: RuleBody,
        response: { 200: RuleView, 201: RuleView, ...errorResponses(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const rule = { ...request.body, id: request.params.id } as GuidanceRule;
      const { created } = await dispatch.guidance.putRule(rule, actorOf(request));
      return reply.code(created ? 201 : 200).send(await ruleView(rule.id));
    },
  );

  app.get(
    '/api/v1/guidance-rules',
    {
      schema: { tags: ['guidance'], summary: 'Every guidance rule with its state', response: { 200: Type.Object({ rules: Type.Array(RuleView) }) } },
    },
    async () => ({ rules: await Promise.all((await store.dispatch.listRules()).map(async (r) => (await ruleView(r.id))!)) }),
  );

  app.get<{ Params: typeof RuleParams.static }>(
    '/api/v1/guidance-rules/:id',
    { schema: { tags: ['guidance'], summary: 'One guidance rule with its state', params: RuleParams, response: { 200: RuleView, ...errorResponses(400, 404) } } },
    async (request) => {
      const view = await ruleView(request.params.id);
      if (!view) throw notFound(`guidance rule '${request.params.id}' not found`);
      return view;
    },
  );

  app.delete<{ Params: typeof RuleParams.static }>(
    '/api/v1/guidance-rules/:id',
    {
      preHandler: controller,
      schema: {
        tags: ['guidance'],
        summary: 'Delete a rule; its active message is cancelled and its pending proposal withdrawn',
        security,
        params: RuleParams,
        response: { 204: Type.Null(), ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      if (!(await dispatch.guidance.deleteRule(request.params.id, actorOf(request)))) throw notFound(`guidance rule '${request.params.id}' not found`);
      return reply.code(204).send();
    },
  );

  app.get<{ Querystring: typeof ProposalQuery.static }>(
    '/api/v1/guidance-proposals',
    {
      schema: {
        tags: ['guidance'],
        summary: 'Proposals of rules that need approval, newest first',
        querystring: ProposalQuery,
        response: { 200: Type.Object({ proposals: Type.Array(ProposalView) }), ...errorResponses(400) },
      },
    },
    async (request) => ({ proposals: await store.dispatch.listProposals({ status: request.query.status }) }),
  );

  for (const decision of ['approve', 'reject'] as const) {
    app.post<{ Params: typeof IdParams.static }>(
      `/api/v1/guidance-proposals/:id/${decision}`,
      {
        preHandler: controller,
        schema: {
          tags: ['guidance'],
          summary: decision === 'approve' ? "Approve a pending proposal: its rule's message is sent" : 'Reject a pending proposal',
          security,
          params: IdParams,
          response: { 200: ProposalView, ...errorResponses(400, 401, 403, 404, 409) },
        },
      },
      async (request) =>
        decision === 'approve'
          ? dispatch.guidance.approve(request.params.id, actorOf(request))
          : dispatch.guidance.reject(request.params.id, actorOf(request)),
    );
  }
}
