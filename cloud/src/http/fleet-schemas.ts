/** JSON schemas (TypeBox) of the fleet routes: sites, grid cells, enrolment tokens, enrolment, revocation, rotation. */
import { Type, type Static } from '@sinclair/typebox';
import { GATEWAY_ID_PATTERN } from '@quanlink/contracts';
import { GATEWAY_ID_PREFIX_PATTERN } from '../fleet/gateway-id.js';
import { MAX_TOKEN_HOURS } from '../fleet/service.js';
import { GATEWAY_FLEET_STATUSES, TOKEN_STATES, type GatewayFleetInfo } from '../fleet/types.js';
import { Gateway, Nullable, Stream } from './schemas.js';

const FLEET_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$';
const FleetId = (what: string) => Type.String({ pattern: FLEET_ID_PATTERN, description: `${what} id: letters, digits, '_', '.', '-'; at most 64` });

export const Location = Type.Object(
  { lat: Type.Number({ minimum: -90, maximum: 90 }), lon: Type.Number({ minimum: -180, maximum: 180 }) },
  { additionalProperties: false, description: 'WGS 84 degrees' },
);
const LonLat = Type.Tuple([Type.Number({ minimum: -180, maximum: 180 }), Type.Number({ minimum: -90, maximum: 90 })]);
const Polygon = Type.Array(LonLat, { minItems: 3, maxItems: 10_000, description: '[lon, lat] vertices of the outline' });
const BBox = Type.Tuple(
  [Type.Number({ minimum: -180, maximum: 180 }), Type.Number({ minimum: -90, maximum: 90 }), Type.Number({ minimum: -180, maximum: 180 }), Type.Number({ minimum: -90, maximum: 90 })],
  { description: '[minLon, minLat, maxLon, maxLat]' },
);

// ---- grid cells and sites ------------------------------------------------------------------

export const GridCell = Type.Object({
  id: Type.String(),
  name: Type.String(),
  polygon: Nullable(Polygon),
  bbox: Nullable(BBox),
  createdAt: Type.Integer(),
  updatedAt: Type.Integer(),
});
export const GridCellParams = Type.Object({ gridCellId: FleetId('grid cell') });
export const GridCellBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    polygon: Type.Optional(Nullable(Polygon)),
    bbox: Type.Optional(Nullable(BBox)),
  },
  { additionalProperties: false },
);
export type GridCellBody = Static<typeof GridCellBody>;

export const Site = Type.Object({
  id: Type.String(),
  name: Type.String(),
  location: Nullable(Location),
  gridCellId: Nullable(Type.String()),
  address: Nullable(Type.String()),
  createdAt: Type.Integer(),
  updatedAt: Type.Integer(),
});
export const SiteParams = Type.Object({ siteId: FleetId('site') });
export const SiteQuery = Type.Object({ gridCell: Type.Optional(FleetId('grid cell')) }, { additionalProperties: false });
export const SiteBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    location: Type.Optional(Nullable(Location)),
    gridCell: Type.Optional(Nullable(FleetId('grid cell'))),
    address: Type.Optional(Nullable(Type.String({ maxLength: 500 }))),
  },
  { additionalProperties: false },
);
export type SiteBody = Static<typeof SiteBody>;

// ---- enrolment tokens and enrolment --------------------------------------------------------

export const EnrolmentToken = Type.Object({
  id: Type.String(),
  siteId: Nullable(Type.String()),
  gridCellId: Nullable(Type.String()),
  gatewayId: Nullable(Type.String()),
  gatewayIdPrefix: Nullable(Type.String()),
  note: Nullable(Type.String()),
  createdAt: Type.Integer(),
  createdBy: Type.String(),
  expiresAt: Type.Integer(),
  state: Type.Union(TOKEN_STATES.map((state) => Type.Literal(state))),
  usedAt: Nullable(Type.Integer()),
  usedBy: Nullable(Type.String({ description: 'the gateway that used it' })),
  revokedAt: Nullable(Type.Integer()),
  revokedBy: Nullable(Type.String()),
});
export const IssuedEnrolmentToken = Type.Composite([
  Type.Object({ token: Type.String({ description: 'the one-time secret; shown only in this response' }) }),
  EnrolmentToken,
]);
export const EnrolmentTokenParams = Type.Object({ tokenId: Type.String({ pattern: '^et-[0-9a-f]{1,64}$' }) });
export const EnrolmentTokenQuery = Type.Object(
  { state: Type.Optional(Type.Union(TOKEN_STATES.map((state) => Type.Literal(state)))), site: Type.Optional(FleetId('site')) },
  { additionalProperties: false },
);
export const NewEnrolmentTokenBody = Type.Object(
  {
    site: Type.Optional(FleetId('site')),
    gridCell: Type.Optional(FleetId('grid cell')),
    gatewayId: Type.Optional(Type.String({ pattern: GATEWAY_ID_PATTERN, description: 'the gateway must take this id (re-enrolling a revoked gateway needs it)' })),
    gatewayIdPrefix: Type.Optional(Type.String({ pattern: GATEWAY_ID_PREFIX_PATTERN, description: "the gateway's id must start with this" })),
    expiresInHours: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: MAX_TOKEN_HOURS, description: 'default 24' })),
    note: Type.Optional(Type.String({ maxLength: 500 })),
  },
  { additionalProperties: false },
);
export type NewEnrolmentTokenBody = Static<typeof NewEnrolmentTokenBody>;

export const EnrolBody = Type.Object(
  {
    token: Type.String({ minLength: 8, maxLength: 200 }),
    gatewayId: Type.Optional(Type.String({ pattern: GATEWAY_ID_PATTERN })),
    name: Type.Optional(Type.String({ maxLength: 200 })),
    hardware: Type.Optional(
      Type.Record(Type.String({ maxLength: 64 }), Type.Union([Type.String({ maxLength: 500 }), Type.Number(), Type.Boolean()]), {
        maxProperties: 32,
        description: 'what the gateway says about itself (model, serial, os...)',
      }),
    ),
  },
  { additionalProperties: false },
);
export type EnrolBody = Static<typeof EnrolBody>;

export const EnrolResponse = Type.Object({
  gatewayId: Type.String(),
  password: Type.String({ description: 'MQTT password; shown only in this response' }),
  mqttUrl: Type.String(),
  caCertPem: Type.Optional(Type.String({ description: 'the CA of the broker and API certificates (with TLS)' })),
  site: Nullable(Type.String()),
  gridCell: Nullable(Type.String()),
  reEnrolled: Type.Boolean(),
});

// ---- gateways --------------------------------------------------------------------------------

export const GatewayFleet = Type.Object({
  site: Nullable(Type.String()),
  siteName: Nullable(Type.String()),
  gridCell: Nullable(Type.String()),
  location: Nullable(Location),
  hardware: Nullable(Type.Record(Type.String(), Type.Unknown())),
  enrolledAt: Nullable(Type.Integer()),
  revoked: Nullable(Type.Object({ at: Type.Integer(), by: Type.String(), reason: Type.String() })),
  rotationPendingSince: Nullable(Type.Integer()),
  rotatedAt: Nullable(Type.Integer()),
});
export const FleetGateway = Type.Composite([Gateway, GatewayFleet]);
/** One gateway: the registry's view, its fleet fields, and the sync state of its outbox streams. */
export const GatewayDetail = Type.Composite([FleetGateway, Type.Object({ streams: Type.Array(Stream) })]);

/** A gateway's fleet fields as the API shows them (all null for a gateway with no fleet record). */
export function fleetView(info: GatewayFleetInfo | undefined): Static<typeof GatewayFleet> {
  return {
    site: info?.siteId ?? null,
    siteName: info?.siteName ?? null,
    gridCell: info?.gridCellId ?? null,
    location: info?.location ?? null,
    hardware: info?.hardware ?? null,
    enrolledAt: info?.enrolledAt ?? null,
    revoked: info?.revoked ?? null,
    rotationPendingSince: info?.rotationPendingSince ?? null,
    rotatedAt: info?.rotatedAt ?? null,
  };
}

export const GatewayListQuery = Type.Object(
  {
    site: Type.Optional(FleetId('site')),
    gridCell: Type.Optional(FleetId('grid cell')),
    status: Type.Optional(Type.Union(GATEWAY_FLEET_STATUSES.map((status) => Type.Literal(status)))),
    deviceKind: Type.Optional(Type.String({ pattern: '^[a-z][a-z0-9-]{0,31}$' })),
    q: Type.Optional(Type.String({ maxLength: 100, description: "part of the gateway's id or name, or its site's name or address" })),
  },
  { additionalProperties: false },
);
export type GatewayListQuery = Static<typeof GatewayListQuery>;

export const RevokeBody = Type.Object({ reason: Type.String({ minLength: 1, maxLength: 500 }) }, { additionalProperties: false });
export const RevokeResponse = Type.Composite([Type.Object({ gatewayId: Type.String(), disconnected: Type.Boolean() }), GatewayFleet]);
export const RotateResponse = Type.Object({
  gatewayId: Type.String(),
  rotationStartedAt: Type.Integer(),
  message: Type.String(),
});
export const RotationCancelResponse = Type.Object({
  gatewayId: Type.String(),
  pendingSince: Nullable(Type.Integer()),
  message: Type.String(),
});
export const PlacementBody = Type.Object(
  { site: Type.Optional(Nullable(FleetId('site'))), gridCell: Type.Optional(Nullable(FleetId('grid cell'))) },
  { additionalProperties: false },
);
