/** Builds the driver of a guidance screen from its binding and profile: Modbus registers or JSON over MQTT. */
import type { Logger } from 'pino';
import type { DeviceProfile } from '@quanlink/device-profiles';
import { createModbusSignDriver, createMqttSignDriver, type SignDriver } from '@quanlink/firmware-bridge';
import type { DeviceBinding } from '../config/index.js';
import { createDriver, mqttTopicBase, type BusRegistry } from '../devices/drivers.js';

export function createSignDriver(binding: DeviceBinding, profile: DeviceProfile, gatewayId: string, logger: Logger, buses: BusRegistry): SignDriver {
  const { transport } = binding;
  const driverLogger = logger.child({ device: binding.id, gateway: gatewayId });
  if (transport.kind === 'mqtt') {
    const topicBase = mqttTopicBase(binding, profile);
    if (!topicBase) throw new TypeError(`device ${binding.id}: no MQTT topic base (set transport.topicBase, profile ${profile.id} has none)`);
    return createMqttSignDriver({
      device: binding.id,
      url: transport.url,
      topicBase,
      logger: driverLogger,
      ...(transport.username !== undefined ? { username: transport.username } : {}),
      ...(transport.password !== undefined ? { password: transport.password } : {}),
      ...(transport.timeoutMs !== undefined ? { timeoutMs: transport.timeoutMs } : {}),
    });
  }
  const wire = profile.sign?.modbus;
  if (!wire) throw new TypeError(`device ${binding.id}: profile ${profile.id} describes no Modbus sign registers (sign.modbus), so it cannot be driven over ${transport.kind}`);
  return createModbusSignDriver({ device: binding.id, driver: createDriver(binding, profile, gatewayId, logger, buses), wire, logger: driverLogger });
}
