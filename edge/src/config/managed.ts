/**
 * The one place that says which part of the config file the cloud manages (MANAGED_CONFIG_KEYS:
 * devices and settings) and which stays local: gateway identity, cloud credentials, the machine's
 * layout (dataDir, profileDirs), link tuning (a wrong value pushed from the cloud could cut the
 * gateway off from the cloud that would fix it), update trust keys, and the `managed` record itself.
 */
import { MANAGED_CONFIG_KEYS, configSha256, withoutSecrets, type ManagedConfig } from '@quanlink/contracts';
import type { DeviceBinding, EdgeConfig } from './schema.js';

/** The managed part of a config (with its secrets: the caller decides whether they leave). */
export function managedPart(config: EdgeConfig): ManagedConfig {
  const managed: Record<string, unknown> = {};
  for (const key of MANAGED_CONFIG_KEYS) {
    if (config[key] !== undefined) managed[key] = structuredClone(config[key]);
  }
  return managed as ManagedConfig;
}

/** The managed part as it may leave the gateway: without passwords. */
export function reportablePart(config: EdgeConfig): ManagedConfig {
  return withoutSecrets(managedPart(config));
}

/** sha256 of the managed part without secrets (what the cloud compares). */
export function managedSha256(config: EdgeConfig): string {
  return configSha256(managedPart(config));
}

/**
 * The local config with its managed part replaced by `managed`. A device whose transport comes
 * without a password keeps the password the local file has for the same device id and transport
 * kind: the cloud need not hold (or resend) device secrets.
 */
export function withManaged(local: EdgeConfig, managed: ManagedConfig): EdgeConfig {
  const next: Record<string, unknown> = structuredClone(local);
  for (const key of MANAGED_CONFIG_KEYS) delete next[key];
  const localDevices = new Map(local.devices.map((device) => [device.id, device]));
  for (const key of MANAGED_CONFIG_KEYS) {
    if (managed[key] !== undefined) next[key] = structuredClone(managed[key]);
  }
  next.devices = (managed.devices as unknown as DeviceBinding[]).map((device) => keepLocalSecret(structuredClone(device), localDevices.get(device.id)));
  return next as EdgeConfig;
}

function keepLocalSecret(device: DeviceBinding, local: DeviceBinding | undefined): DeviceBinding {
  const transport = device.transport as Record<string, unknown>;
  const localTransport = local?.transport as Record<string, unknown> | undefined;
  if (transport === null || typeof transport !== 'object' || transport.password !== undefined) return device;
  if (localTransport !== undefined && localTransport.kind === transport.kind && typeof localTransport.password === 'string') transport.password = localTransport.password;
  return device;
}
