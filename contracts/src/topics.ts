/**
 * The MQTT topic map: every topic edge and cloud exchange lives under one gateway's prefix,
 * `quanlink/v1/gw/{gatewayId}/{channel}`. The broker's ACL is derived from this file, so a
 * gateway can publish only its uplink channels and subscribe only its downlink channels.
 */
export const TOPIC_ROOT = 'quanlink/v1';

/** Edge -> cloud. */
export const UPLINK_CHANNELS = ['status', 'birth', 'events', 'cmd/result', 'telemetry'] as const;
/** Cloud -> edge. */
export const DOWNLINK_CHANNELS = ['synced', 'cmd'] as const;

export type UplinkChannel = (typeof UPLINK_CHANNELS)[number];
export type DownlinkChannel = (typeof DOWNLINK_CHANNELS)[number];
export type Channel = UplinkChannel | DownlinkChannel;

/** Lower-case letters, digits, '-' and '_': never an MQTT wildcard, separator or '$'. */
export const GATEWAY_ID_PATTERN = '^[a-z0-9][a-z0-9_-]{0,63}$';
const gatewayIdRe = new RegExp(GATEWAY_ID_PATTERN);

export function isValidGatewayId(id: string): boolean {
  return gatewayIdRe.test(id);
}

export function gatewayPrefix(gatewayId: string): string {
  if (!isValidGatewayId(gatewayId)) {
    throw new TypeError(`gateway id '${gatewayId}' is invalid: must match ${GATEWAY_ID_PATTERN}`);
  }
  return `${TOPIC_ROOT}/gw/${gatewayId}/`;
}

export function topicFor(gatewayId: string, channel: Channel): string {
  return gatewayPrefix(gatewayId) + channel;
}

/** Subscription filter the cloud uses to hear one channel from every gateway. */
export function allGatewaysFilter(channel: UplinkChannel): string {
  return `${TOPIC_ROOT}/gw/+/${channel}`;
}

export interface ParsedTopic {
  gatewayId: string;
  channel: Channel;
}

const allChannels: readonly string[] = [...UPLINK_CHANNELS, ...DOWNLINK_CHANNELS];

/** Splits a concrete topic into gateway and channel; undefined when it is not one of ours. */
export function parseTopic(topic: string): ParsedTopic | undefined {
  const head = `${TOPIC_ROOT}/gw/`;
  if (!topic.startsWith(head)) return undefined;
  const rest = topic.slice(head.length);
  const slash = rest.indexOf('/');
  if (slash <= 0) return undefined;
  const gatewayId = rest.slice(0, slash);
  const channel = rest.slice(slash + 1);
  if (!isValidGatewayId(gatewayId) || !allChannels.includes(channel)) return undefined;
  return { gatewayId, channel: channel as Channel };
}

export function isUplink(channel: Channel): channel is UplinkChannel {
  return (UPLINK_CHANNELS as readonly string[]).includes(channel);
}

export function isDownlink(channel: Channel): channel is DownlinkChannel {
  return (DOWNLINK_CHANNELS as readonly string[]).includes(channel);
}
