/**
 * Where the shared detector model and sample imagery live: `QUANLINK_MODELS_DIR`, else the
 * `shared/models` folder beside the repository (../shared/models, as on the developers' machines
 * and in CI). The project never copies these files; see that folder's README for their provenance.
 */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const SHARED_MODELS_DIR = process.env['QUANLINK_MODELS_DIR'] ?? fileURLToPath(new URL('../../../shared/models/', import.meta.url));
export const FASTESTDET_MODEL_PATH = join(SHARED_MODELS_DIR, 'FastestDet.onnx');
export const SAMPLES_DIR = join(SHARED_MODELS_DIR, 'samples');
