import { badRequest } from './errors.js';

const EPOCH_MS = /^\d{1,15}$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** A time query parameter: epoch milliseconds or an ISO 8601 date(-time). */
export function parseTimeParam(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (EPOCH_MS.test(raw)) return Number(raw);
  if (ISO_DATE.test(raw)) {
    const ms = Date.parse(raw);
    if (!Number.isNaN(ms)) return ms;
  }
  throw badRequest(`query parameter '${name}' must be epoch milliseconds or an ISO 8601 date-time, got '${raw}'`);
}

/** from/to of a query, checked to form a range. */
export function parseTimeRange(query: { from?: string | undefined; to?: string | undefined }): { from?: number; to?: number } {
  const from = parseTimeParam('from', query.from);
  const to = parseTimeParam('to', query.to);
  if (from !== undefined && to !== undefined && from > to) {
    throw badRequest(`query parameter 'from' (${new Date(from).toISOString()}) is after 'to' (${new Date(to).toISOString()})`);
  }
  return { ...(from !== undefined && { from }), ...(to !== undefined && { to }) };
}
