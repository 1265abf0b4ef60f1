/** Builds the protocol driver a device binding asks for; devices on one RTU line share its bus. */
import type { Logger } from 'pino';
import type { DeviceProfile } from '@quanlink/device-profiles';
import {
  createModbusRtuDriver,
  createModbusTcpDriver,
  describeModbusEndpoint,
  openRtuOverTcpBus,
  openSerialBus,
  topicBaseFor,
  type ModbusBus,
  type ProtocolDriver,
} from '@quanlink/firmware-bridge';
import { busOf, type DeviceBinding } from '../config/index.js';

/** One bus per physical line, opened when its first device is bound, closed with the agent. */
export class BusRegistry {
  private readonly buses = new Map<string, ModbusBus>();

  constructor(private readonly logger: Logger) {}

  busFor(transport: DeviceBinding['transport']): ModbusBus {
    const key = busOf(transport)?.key;
    if (key === undefined) throw new TypeError(`transport ${transport.kind} has no shared bus`);
    let bus = this.buses.get(key);
    if (!bus) {
      const logger = this.logger.child({ bus: key });
      if (transport.kind === 'modbus-rtu') {
        bus = openSerialBus({
          path: transport.path,
          logger,
          ...(transport.baudRate !== undefined ? { baudRate: transport.baudRate } : {}),
          ...(transport.parity !== undefined ? { parity: transport.parity } : {}),
          ...(transport.stopBits !== undefined ? { stopBits: transport.stopBits } : {}),
        });
      } else if (transport.kind === 'modbus-rtu-tcp') {
        bus = openRtuOverTcpBus({ host: transport.host, port: transport.port, logger, ...(transport.baudRate !== undefined ? { baudRate: transport.baudRate } : {}) });
      } else {
        throw new TypeError(`transport ${transport.kind} has no shared bus`);
      }
      this.buses.set(key, bus);
    }
    return bus;
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.buses.values()].map((bus) => bus.close()));
    this.buses.clear();
  }
}

export function createDriver(binding: DeviceBinding, profile: DeviceProfile, gatewayId: string, logger: Logger, buses: BusRegistry): ProtocolDriver {
  const { transport } = binding;
  const common = {
    device: binding.id,
    logger: logger.child({ device: binding.id, gateway: gatewayId }),
    timeoutMs: transport.timeoutMs ?? 1000,
    // Some cards answer only short reads, or refuse holes: the profile says so.
    ...profile.modbus,
  };
  switch (transport.kind) {
    case 'modbus-tcp':
      return createModbusTcpDriver({ ...common, host: transport.host, port: transport.port, unitId: transport.unitId ?? 1 });
    case 'modbus-rtu':
    case 'modbus-rtu-tcp':
      return createModbusRtuDriver({ ...common, bus: buses.busFor(transport), unitId: transport.unitId });
    case 'mqtt':
    case 'onvif':
    case 'rtsp':
      throw new TypeError(`device ${binding.id}: a ${transport.kind} transport has no Modbus driver (profile ${profile.id})`);
  }
}

/**
 * Where the device is reached, as a URI without credentials (sent to the cloud in the birth
 * message), e.g. modbus-tcp://10.0.0.5:502/1, mqtt://10.0.0.7:1883/signs/vms-7 or onvif://10.0.0.9:80.
 */
export function describeEndpoint(binding: DeviceBinding, profile?: DeviceProfile): string {
  const { transport } = binding;
  // Camera URLs never carry credentials (the config refuses them), so they can be shown as they are.
  if (transport.kind === 'onvif') return `onvif://${transport.host}:${transport.port}`;
  if (transport.kind === 'rtsp') return transport.url;
  if (transport.kind !== 'mqtt') return describeModbusEndpoint(transport);
  const url = new URL(transport.url);
  const topicBase = mqttTopicBase(binding, profile);
  return `${url.protocol}//${url.host}${topicBase ? `/${topicBase}` : ''}`;
}

/** The topics of an MQTT device: the binding's, else its profile's, with '{device}' standing for the device id. */
export function mqttTopicBase(binding: DeviceBinding, profile?: DeviceProfile): string | undefined {
  const base = (binding.transport.kind === 'mqtt' ? binding.transport.topicBase : undefined) ?? profile?.sign?.mqtt?.topicBase;
  return base === undefined ? undefined : topicBaseFor(base, binding.id);
}
