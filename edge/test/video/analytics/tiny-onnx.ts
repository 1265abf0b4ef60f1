/**
 * Writes tiny ONNX models for tests: one float32 image input and one Constant output with given
 * values. That is enough to check a decoder end to end through onnxruntime (a real session, real
 * metadata) and to produce models of the wrong shape, without any model file in the repo.
 * The protobuf is encoded by hand from the onnx.proto field numbers.
 */
import { writeFile } from 'node:fs/promises';

type Field = Buffer;

function varint(n: number | bigint): Buffer {
  let v = BigInt(n);
  const bytes: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    bytes.push(b);
  } while (v > 0n);
  return Buffer.from(bytes);
}
const key = (field: number, wire: number): Buffer => varint((field << 3) | wire);
const int = (field: number, n: number): Field => Buffer.concat([key(field, 0), varint(n)]);
const bytes = (field: number, b: Buffer): Field => Buffer.concat([key(field, 2), varint(b.length), b]);
const str = (field: number, s: string): Field => bytes(field, Buffer.from(s, 'utf8'));
const msg = (field: number, ...parts: Field[]): Field => bytes(field, Buffer.concat(parts));

const FLOAT = 1;

function valueInfo(field: number, name: string, dims: readonly (number | string)[]): Field {
  const dimFields = dims.map((d) => (typeof d === 'number' ? msg(1, int(1, d)) : msg(1, str(2, d))));
  return msg(field, str(1, name), msg(2, msg(1, int(1, FLOAT), msg(2, ...dimFields))));
}

export interface TinyModel {
  inputDims: readonly (number | string)[];
  outputDims: readonly number[];
  /** Output values, row-major; zeros when absent. */
  output?: Float32Array;
}

export function tinyOnnx(m: TinyModel): Buffer {
  const count = m.outputDims.reduce((a, b) => a * b, 1);
  const values = m.output ?? new Float32Array(count);
  if (values.length !== count) throw new Error(`output has ${values.length} values, dims ${m.outputDims} need ${count}`);
  const tensor = Buffer.concat([
    ...m.outputDims.map((d) => int(1, d)),
    int(2, FLOAT),
    bytes(9, Buffer.from(values.buffer, values.byteOffset, values.byteLength)),
  ]);
  const attribute = msg(5, str(1, 'value'), int(20, 4 /* TENSOR */), bytes(5, tensor));
  const node = msg(1, str(2, 'output'), str(3, 'constant'), str(4, 'Constant'), attribute);
  const graph = msg(7, node, str(2, 'tiny'), valueInfo(11, 'images', m.inputDims), valueInfo(12, 'output', m.outputDims));
  return Buffer.concat([int(1, 8), str(2, 'quanlink-test'), graph, msg(8, str(1, ''), int(2, 13))]);
}

export async function writeTinyOnnx(path: string, m: TinyModel): Promise<string> {
  await writeFile(path, tinyOnnx(m));
  return path;
}
