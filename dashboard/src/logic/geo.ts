/**
 * The map's layout, DOM-free: screen positions of gateways, devices and grid cells from WGS 84
 * coordinates (an equirectangular projection scaled to fit), and a ring around its gateway for
 * whatever has no coordinates.
 */
import type { Device, Gateway, LatLon, Screen, Segment } from '../types.js';

export const WIDTH = 1000;
export const HEIGHT = 620;
const PAD = 90;

export interface Site {
  id: string;
  name?: string | null;
  location?: LatLon | null;
  gridCellId?: string | null;
}

/** A grid cell (网格): an outline as [lon, lat] vertices, or a bounding box. */
export interface GridCell {
  id: string;
  name: string;
  polygon: [number, number][] | null;
  bbox: [number, number, number, number] | null;
}

export interface MapData {
  gateways: Gateway[];
  devices: Device[];
  screens: Screen[];
  segments: Segment[];
  sites: Site[];
  gridCells: GridCell[];
}

export type Point = { x: number; y: number };

export function cellOutline(cell: GridCell): LatLon[] {
  if (cell.polygon) return cell.polygon.map(([lon, lat]) => ({ lat, lon }));
  if (cell.bbox) {
    const [w, south, e, north] = cell.bbox;
    return [{ lat: south, lon: w }, { lat: south, lon: e }, { lat: north, lon: e }, { lat: north, lon: w }];
  }
  return [];
}

/** Ring order: detectors next to each other (a segment joins them), then cameras, then screens. */
const KIND_ORDER: Record<string, number> = { 'loop-detector': 0, camera: 1, vms: 2 };

/** Screen-space positions of every gateway and device (key 'gateway/device'), and of grid cell outlines. */
export interface Layout {
  gateways: Map<string, Point>;
  devices: Map<string, Point>;
  cells: Map<string, Point[]>;
  schematic: boolean;
  /** Screen position to WGS 84 (placing a device by a click); null when nothing has coordinates to fix the frame. */
  unproject: ((p: Point) => LatLon) | null;
}

export function layout(data: MapData): Layout {
  const screenLocation = new Map(data.screens.filter((sc) => sc.location).map((sc) => [sc.key, sc.location!]));
  const deviceGeo = new Map<string, LatLon>();
  for (const d of data.devices) {
    const loc = d.location ?? screenLocation.get(`${d.gatewayId}/${d.deviceId}`);
    if (loc) deviceGeo.set(`${d.gatewayId}/${d.deviceId}`, loc);
  }
  const gatewayGeo = new Map<string, LatLon>();
  for (const gw of data.gateways) {
    const site = data.sites.find((x) => x.id === gw.site);
    const loc = gw.location ?? site?.location ?? null;
    if (loc) gatewayGeo.set(gw.id, loc);
  }
  const cellGeo = new Map(data.gridCells.map((cell) => [cell.id, cellOutline(cell)]));
  const all = [...deviceGeo.values(), ...gatewayGeo.values(), ...[...cellGeo.values()].flat()];
  let project: (p: LatLon) => Point = () => ({ x: WIDTH / 2, y: HEIGHT / 2 });
  let unproject: Layout['unproject'] = null;
  if (all.length > 0) {
    const meanLat = all.reduce((sum, p) => sum + p.lat, 0) / all.length;
    const k = Math.cos((meanLat * Math.PI) / 180);
    const xs = all.map((p) => p.lon * k);
    const ys = all.map((p) => p.lat);
    const [minX, maxX, minY, maxY] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
    const spanX = Math.max(maxX - minX, 0.002);
    const spanY = Math.max(maxY - minY, 0.002);
    const scale = Math.min((WIDTH - 2 * PAD) / spanX, (HEIGHT - 2 * PAD) / spanY);
    const cx = (minX + maxX) / 2;
    const cy = (minY + maxY) / 2;
    project = (p) => ({ x: WIDTH / 2 + (p.lon * k - cx) * scale, y: HEIGHT / 2 - (p.lat - cy) * scale });
    unproject = (p) => ({ lat: cy - (p.y - HEIGHT / 2) / scale, lon: ((p.x - WIDTH / 2) / scale + cx) / k });
  }
  const gateways = new Map<string, Point>();
  const unplaced = data.gateways.filter((gw) => !gatewayGeo.has(gw.id));
  for (const gw of data.gateways) {
    const geo = gatewayGeo.get(gw.id);
    if (geo) gateways.set(gw.id, project(geo));
    else {
      const own = data.devices.filter((d) => d.gatewayId === gw.id && deviceGeo.has(`${d.gatewayId}/${d.deviceId}`)).map((d) => project(deviceGeo.get(`${d.gatewayId}/${d.deviceId}`)!));
      if (own.length > 0) gateways.set(gw.id, { x: own.reduce((a, p) => a + p.x, 0) / own.length, y: own.reduce((a, p) => a + p.y, 0) / own.length });
      else {
        const i = unplaced.indexOf(gw);
        gateways.set(gw.id, { x: ((i + 1) * WIDTH) / (unplaced.length + 1), y: HEIGHT / 2 });
      }
    }
  }
  const devices = new Map<string, Point>();
  let schematic = false;
  const ringRadius = Math.min(210, WIDTH / (2 * Math.max(1, unplaced.length)) - 40);
  for (const gw of data.gateways) {
    const centre = gateways.get(gw.id)!;
    const own = data.devices.filter((d) => d.gatewayId === gw.id && !d.removed);
    const ring = own
      .filter((d) => !deviceGeo.has(`${d.gatewayId}/${d.deviceId}`))
      .sort((a, b) => (KIND_ORDER[a.kind ?? ''] ?? 3) - (KIND_ORDER[b.kind ?? ''] ?? 3) || a.deviceId.localeCompare(b.deviceId));
    if (ring.length > 0) schematic = true;
    own.forEach((d) => {
      const key = `${d.gatewayId}/${d.deviceId}`;
      const geo = deviceGeo.get(key);
      if (geo) devices.set(key, project(geo));
      else {
        const i = ring.indexOf(d);
        const angle = -Math.PI / 2 + (2 * Math.PI * i) / ring.length;
        // Kept inside the picture when the gateway sits near its edge.
        const x = Math.min(WIDTH - 30, Math.max(30, centre.x + Math.cos(angle) * ringRadius * 1.3));
        const y = Math.min(HEIGHT - 30, Math.max(20, centre.y + Math.sin(angle) * ringRadius));
        devices.set(key, { x, y });
      }
    });
  }
  const cells = new Map([...cellGeo].filter(([, outline]) => outline.length > 0).map(([id, outline]) => [id, outline.map(project)]));
  return { gateways, devices, cells, schematic, unproject };
}

