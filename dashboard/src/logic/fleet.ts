/**
 * DOM-free pieces of the provisioning pages: the fleet query, telemetry as text, the enrolment
 * command line, a gateway's configuration as JSON text and the reasons of a refused configuration.
 */

export const GATEWAY_STATUSES = ['online', 'offline', 'revoked'] as const;
export type GatewayStatus = (typeof GATEWAY_STATUSES)[number];

export interface GatewayFilters {
  site?: string;
  gridCell?: string;
  status?: string;
  deviceKind?: string;
  q?: string;
}

/** Filters from a page address's query (a link from a site to its gateways: /gateways?site=box-12). */
export function filtersFromQuery(search: string): GatewayFilters {
  const query = new URLSearchParams(search);
  const filters: GatewayFilters = {};
  for (const key of ['site', 'gridCell', 'status', 'deviceKind', 'q'] as const) {
    const value = query.get(key)?.trim();
    if (value) filters[key] = value;
  }
  return filters;
}

/** GET /api/v1/gateways with the filters that are set (empty fields are left out, text trimmed). */
export function gatewayListPath(filters: GatewayFilters): string {
  const query = new URLSearchParams();
  for (const key of ['site', 'gridCell', 'status', 'deviceKind', 'q'] as const) {
    const value = filters[key]?.trim();
    if (value) query.set(key, value);
  }
  const text = query.toString();
  return text ? `/api/v1/gateways?${text}` : '/api/v1/gateways';
}

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes) || bytes < 0) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

export function formatUptime(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.floor(seconds);
  const days = Math.floor(s / 86_400);
  const hrs = Math.floor((s % 86_400) / 3600);
  const min = Math.floor((s % 3600) / 60);
  if (days > 0) return `${days} d ${hrs} h`;
  return hrs > 0 ? `${hrs} h ${min} min` : `${min} min ${s % 60} s`;
}

/** Disk of the gateway's data directory as "used %, free of total". */
export function formatDisk(disk: { freeBytes: number; totalBytes: number } | null | undefined): string {
  if (!disk || disk.totalBytes <= 0) return '—';
  const usedPercent = Math.round(((disk.totalBytes - disk.freeBytes) / disk.totalBytes) * 100);
  return `${usedPercent} % (${formatBytes(disk.freeBytes)} / ${formatBytes(disk.totalBytes)})`;
}

function shellQuote(value: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * The command a technician runs at the roadside box with a freshly issued token. Over https the
 * cloud's CA is given with --ca (trust on first use, README "Enrolling a gateway").
 */
export function enrolCommand(cloudOrigin: string, token: string, configFile = '/etc/quanlink/edge.json'): string {
  const parts = ['quanlink-edge', 'enrol', '--cloud', shellQuote(cloudOrigin), '--token', shellQuote(token), '--config', shellQuote(configFile)];
  if (cloudOrigin.startsWith('https:')) parts.push('--ca', 'ca.crt');
  return parts.join(' ');
}

/**
 * The reasons in a refusal message of the gateway ("config version 3 refused by gateway gw-1:
 * 2 problems: devices[0].transport.port: ...; devices[1]...; and 4 more"): one reason per entry.
 */
export function reasonsOf(message: string): string[] {
  const match = /: \d+ problems?: (.*)$/s.exec(message);
  if (!match) return [message];
  return match[1]!
    .split(/; (?=\S)/)
    .map((reason) => reason.trim())
    .filter((reason) => reason !== '');
}

export type ParsedConfig = { ok: true; config: { devices: unknown[]; [key: string]: unknown } } | { ok: false; error: string };

/**
 * The editor's text as a managed configuration, or what is wrong with it before it goes to the
 * cloud (the cloud and then the gateway check everything else and say so with reasons).
 */
export function parseConfigText(text: string): ParsedConfig {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: `not JSON: ${(err as Error).message}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, error: 'the configuration must be a JSON object with "devices"' };
  const devices = (value as { devices?: unknown }).devices;
  if (!Array.isArray(devices)) return { ok: false, error: '"devices" must be an array' };
  return { ok: true, config: value as { devices: unknown[] } };
}

/** The configuration as the editor shows it: the managed keys only, two-space JSON. */
export function configText(config: { devices: unknown[]; telemetryIntervalS?: number } | null | undefined): string {
  if (!config) return JSON.stringify({ devices: [] }, null, 2);
  const { devices, telemetryIntervalS } = config;
  return JSON.stringify(telemetryIntervalS === undefined ? { devices } : { devices, telemetryIntervalS }, null, 2);
}

/** An optional number field: undefined when empty, NaN when not a number. */
function numberField(text: string): number | undefined {
  const trimmed = text.trim();
  return trimmed === '' ? undefined : Number(trimmed);
}

/** A form turned into an API body, or the field that is wrong and why. */
export type Built<T> = { ok: true; body: T } | { ok: false; field: 'name' | 'lat' | 'lon' | 'bbox'; error: string };

/** PUT /api/v1/sites/:id from the site form; coordinates both or neither, in range. */
export function siteBody(form: { name: string; lat: string; lon: string; gridCell: string; address: string }): Built<{ name: string; location: { lat: number; lon: number } | null; gridCell: string | null; address: string | null }> {
  const name = form.name.trim();
  if (!name) return { ok: false, field: 'name', error: 'a name is needed' };
  const lat = numberField(form.lat);
  const lon = numberField(form.lon);
  if ((lat === undefined) !== (lon === undefined)) return { ok: false, field: lat === undefined ? 'lat' : 'lon', error: 'give both latitude and longitude, or neither' };
  if (lat !== undefined && !(lat >= -90 && lat <= 90)) return { ok: false, field: 'lat', error: 'latitude must be a number from -90 to 90' };
  if (lon !== undefined && !(lon >= -180 && lon <= 180)) return { ok: false, field: 'lon', error: 'longitude must be a number from -180 to 180' };
  return {
    ok: true,
    body: {
      name,
      location: lat !== undefined && lon !== undefined ? { lat, lon } : null,
      gridCell: form.gridCell.trim() || null,
      address: form.address.trim() || null,
    },
  };
}

/** PUT /api/v1/grid-cells/:id from the grid cell form; the box as "minLon, minLat, maxLon, maxLat". */
export function gridCellBody(form: { name: string; bbox: string }): Built<{ name: string; bbox: [number, number, number, number] | null }> {
  const name = form.name.trim();
  if (!name) return { ok: false, field: 'name', error: 'a name is needed' };
  if (!form.bbox.trim()) return { ok: true, body: { name, bbox: null } };
  const parts = form.bbox.split(/[\s,]+/).filter((p) => p !== '').map(Number);
  if (parts.length !== 4 || parts.some((n) => !Number.isFinite(n))) return { ok: false, field: 'bbox', error: 'the box is four numbers: minLon, minLat, maxLon, maxLat' };
  const [minLon, minLat, maxLon, maxLat] = parts as [number, number, number, number];
  if ([minLon, maxLon].some((n) => n < -180 || n > 180) || [minLat, maxLat].some((n) => n < -90 || n > 90)) return { ok: false, field: 'bbox', error: 'longitudes are -180..180, latitudes -90..90' };
  if (minLon >= maxLon || minLat >= maxLat) return { ok: false, field: 'bbox', error: 'the minimum must be below the maximum' };
  return { ok: true, body: { name, bbox: [minLon, minLat, maxLon, maxLat] } };
}

/** Fleet ids (sites, grid cells) as the cloud accepts them. */
export const FLEET_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
