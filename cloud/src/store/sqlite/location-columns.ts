/** A point kept as two nullable columns (lat, lon): both or neither make a location. */
export function locationOf(row: { lat: number | null; lon: number | null }): { lat: number; lon: number } | null {
  return row.lat === null || row.lon === null ? null : { lat: row.lat, lon: row.lon };
}
