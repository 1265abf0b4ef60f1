/** Where a Modbus device is reached, as the URI that birth messages carry (never with credentials). */
import type { Parity } from './rtu-timing.js';

export type ModbusEndpoint =
  | { kind: 'modbus-tcp'; host: string; port: number; unitId?: number }
  | { kind: 'modbus-rtu-tcp'; host: string; port: number; unitId: number }
  | { kind: 'modbus-rtu'; path: string; unitId: number; baudRate?: number; parity?: Parity; stopBits?: 1 | 2 };

/** An IPv6 literal goes in brackets so that the port stays readable. */
const hostPart = (host: string): string => (host.includes(':') ? `[${host}]` : host);

/**
 * e.g. `modbus-tcp://10.0.0.5:502/1`, `modbus-rtu-tcp://10.0.0.9:4001/3`,
 * `modbus-rtu:///dev/ttyUSB0?unit=3&baud=9600` (parity and stop bits only when not 8N1).
 */
export function describeModbusEndpoint(endpoint: ModbusEndpoint): string {
  switch (endpoint.kind) {
    case 'modbus-tcp':
    case 'modbus-rtu-tcp':
      return `${endpoint.kind}://${hostPart(endpoint.host)}:${endpoint.port}/${endpoint.unitId ?? 1}`;
    case 'modbus-rtu': {
      const query = new URLSearchParams({ unit: String(endpoint.unitId), baud: String(endpoint.baudRate ?? 9600) });
      if (endpoint.parity && endpoint.parity !== 'none') query.set('parity', endpoint.parity);
      if (endpoint.stopBits && endpoint.stopBits !== 1) query.set('stop', String(endpoint.stopBits));
      const path = encodeURI(endpoint.path.startsWith('/') ? endpoint.path : `/${endpoint.path}`);
      return `modbus-rtu://${path}?${query}`;
    }
  }
}
