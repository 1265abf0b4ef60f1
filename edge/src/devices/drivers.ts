/** Builds the protocol driver a device binding asks for. */
import type { Logger } from 'pino';
import { createModbusTcpDriver, type ProtocolDriver } from '@quanlink/firmware-bridge';
import type { DeviceBinding } from '../config/index.js';

export function createDriver(binding: DeviceBinding, gatewayId: string, logger: Logger): ProtocolDriver {
  const { transport } = binding;
  switch (transport.kind) {
    case 'modbus-tcp':
      return createModbusTcpDriver({
        host: transport.host,
        port: transport.port,
        unitId: transport.unitId ?? 1,
        timeoutMs: transport.timeoutMs ?? 1000,
        device: binding.id,
        logger: logger.child({ device: binding.id, gateway: gatewayId }),
      });
  }
}

/** Where the device is reached, as a URI without credentials (sent to the cloud in the birth message). */
export function describeEndpoint(binding: DeviceBinding): string {
  const { transport } = binding;
  return `${transport.kind}://${transport.host}:${transport.port}/${transport.unitId ?? 1}`;
}
