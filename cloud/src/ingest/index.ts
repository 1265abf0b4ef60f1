export { startIngest, type Ingest, type IngestCounters, type IngestOptions } from './ingest.js';
export { splitBatch, type SplitBatch } from './split-batch.js';
