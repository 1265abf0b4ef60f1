/**
 * Migration 9: where a device stands on the map. Loop cards and cameras have no coordinates of
 * their own; a technician places them. Keyed by gateway and device like `devices`, so a device
 * that is removed and listed again keeps its place.
 */
export const PLACEMENT_SCHEMA = `
  CREATE TABLE device_placement (
    gateway_id TEXT NOT NULL,
    device_id  TEXT NOT NULL,
    lat        REAL NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lon        REAL NOT NULL CHECK (lon BETWEEN -180 AND 180),
    bearing    REAL CHECK (bearing >= 0 AND bearing < 360),
    note       TEXT,
    placed_at  INTEGER NOT NULL,
    placed_by  TEXT NOT NULL,
    PRIMARY KEY (gateway_id, device_id),
    FOREIGN KEY (gateway_id, device_id) REFERENCES devices(gateway_id, device_id)
  ) STRICT, WITHOUT ROWID;
`;
