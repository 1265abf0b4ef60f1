export { startIngest, type Ingest, type IngestCounters, type IngestOptions, type IngestListener } from './ingest.js';
export { splitBatch, type SplitBatch } from './split-batch.js';
