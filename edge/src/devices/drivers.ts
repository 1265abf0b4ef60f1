/** Builds the protocol driver a device binding asks for. */
import type { Logger } from 'pino';
import { createModbusTcpDriver, type ProtocolDriver } from '@quanlink/firmware-bridge';
import type { DeviceProfile } from '@quanlink/device-profiles';
import type { DeviceBinding } from '../config/index.js';

export function createDriver(binding: DeviceBinding, profile: DeviceProfile, gatewayId: string, logger: Logger): ProtocolDriver {
  const { transport } = binding;
  // Some cards answer only short reads, or refuse holes: the profile says so.
  const limits = profile.modbus ?? {};
  switch (transport.kind) {
    case 'modbus-tcp':
      return createModbusTcpDriver({
        host: transport.host,
        port: transport.port,
        unitId: transport.unitId ?? 1,
        timeoutMs: transport.timeoutMs ?? 1000,
        device: binding.id,
        logger: logger.child({ device: binding.id, gateway: gatewayId }),
        ...(limits.maxRegistersPerRead !== undefined ? { maxRegistersPerRead: limits.maxRegistersPerRead } : {}),
        ...(limits.maxGap !== undefined ? { maxGap: limits.maxGap } : {}),
      });
  }
}

/** Where the device is reached, as a URI without credentials (sent to the cloud in the birth message). */
export function describeEndpoint(binding: DeviceBinding): string {
  const { transport } = binding;
  return `${transport.kind}://${transport.host}:${transport.port}/${transport.unitId ?? 1}`;
}
