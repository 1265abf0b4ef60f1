/** SQLite side of device placement (migration 9, placement-schema.ts): one row per placed device. */
import type Database from 'better-sqlite3';
import { UnknownDeviceError, type DevicePlacement } from '../types.js';

interface PlacementRow {
  gateway_id: string;
  device_id: string;
  lat: number;
  lon: number;
  bearing: number | null;
  note: string | null;
  placed_at: number;
  placed_by: string;
}

function toPlacement(row: PlacementRow): DevicePlacement {
  return {
    gatewayId: row.gateway_id,
    deviceId: row.device_id,
    location: { lat: row.lat, lon: row.lon },
    bearing: row.bearing,
    note: row.note,
    placedAt: row.placed_at,
    placedBy: row.placed_by,
  };
}

export class SqlitePlacementQueries {
  constructor(private readonly db: Database.Database) {}

  place(placement: DevicePlacement): DevicePlacement {
    const { gatewayId, deviceId } = placement;
    return this.db.transaction(() => {
      const known = this.db.prepare('SELECT 1 FROM devices WHERE gateway_id = ? AND device_id = ?').get(gatewayId, deviceId);
      if (!known) throw new UnknownDeviceError(gatewayId, deviceId, 'place device');
      this.db
        .prepare(
          `INSERT INTO device_placement (gateway_id, device_id, lat, lon, bearing, note, placed_at, placed_by)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (gateway_id, device_id) DO UPDATE SET lat = excluded.lat, lon = excluded.lon, bearing = excluded.bearing,
             note = excluded.note, placed_at = excluded.placed_at, placed_by = excluded.placed_by`,
        )
        .run(gatewayId, deviceId, placement.location.lat, placement.location.lon, placement.bearing, placement.note, placement.placedAt, placement.placedBy);
      return toPlacement(this.db.prepare('SELECT * FROM device_placement WHERE gateway_id = ? AND device_id = ?').get(gatewayId, deviceId) as PlacementRow);
    }).immediate();
  }

  list(gatewayId?: string): DevicePlacement[] {
    const rows = (
      gatewayId === undefined
        ? this.db.prepare('SELECT * FROM device_placement ORDER BY gateway_id, device_id').all()
        : this.db.prepare('SELECT * FROM device_placement WHERE gateway_id = ? ORDER BY device_id').all(gatewayId)
    ) as PlacementRow[];
    return rows.map(toPlacement);
  }
}
