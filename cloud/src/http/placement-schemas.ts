/** Device placement on the map: the body of PUT /api/v1/gateways/{gatewayId}/devices/{deviceId}/placement. */
import { Type, type Static } from '@sinclair/typebox';
import { Location } from './fleet-schemas.js';

export const DevicePlacementBody = Type.Object(
  {
    location: Location,
    bearing: Type.Optional(Type.Number({ minimum: 0, exclusiveMaximum: 360, description: 'degrees clockwise from north the device faces' })),
    note: Type.Optional(Type.String({ maxLength: 500 })),
  },
  { additionalProperties: false },
);
export type DevicePlacementBody = Static<typeof DevicePlacementBody>;
