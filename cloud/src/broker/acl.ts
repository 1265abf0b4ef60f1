/**
 * Who may do what on the broker, derived from the contracts' topic map: a gateway publishes only
 * its own uplink topics and subscribes only its own downlink topics (exact topics, no wildcards);
 * the cloud's service account hears every gateway's uplink and answers on any gateway's downlink.
 */
import {
  allGatewaysFilter,
  DOWNLINK_CHANNELS,
  isDownlink,
  isUplink,
  parseTopic,
  topicFor,
  UPLINK_CHANNELS,
} from '@quanlink/contracts';

/** Cannot collide with a gateway id: those start with [a-z0-9]. */
export const SERVICE_USERNAME = '_quanlink-cloud';

export type Principal = { kind: 'gateway'; gatewayId: string } | { kind: 'service' };

const serviceFilters = new Set<string>(UPLINK_CHANNELS.map((channel) => allGatewaysFilter(channel)));

export function mayPublish(principal: Principal, topic: string): boolean {
  if (principal.kind === 'service') {
    const parsed = parseTopic(topic);
    return parsed !== undefined && isDownlink(parsed.channel);
  }
  return UPLINK_CHANNELS.some((channel) => topicFor(principal.gatewayId, channel) === topic);
}

export function maySubscribe(principal: Principal, filter: string): boolean {
  if (principal.kind === 'service') {
    if (serviceFilters.has(filter)) return true;
    const parsed = parseTopic(filter);
    return parsed !== undefined && isUplink(parsed.channel);
  }
  return DOWNLINK_CHANNELS.some((channel) => topicFor(principal.gatewayId, channel) === filter);
}

export function describePrincipal(principal: Principal): string {
  return principal.kind === 'service' ? SERVICE_USERNAME : principal.gatewayId;
}
