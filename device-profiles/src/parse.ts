/** Profile text -> DeviceProfile, or a ProfileError naming the file, the field and (when it can) the line. */
import type { TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import { isMap, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import { ProfileError } from './errors.js';
import { resolveProfile, type FieldPath } from './resolve.js';
import { ProfileSchema, schemaAt, type ProfileSource } from './schema.js';
import type { DeviceProfile } from './types.js';

const checkProfile = TypeCompiler.Compile(ProfileSchema);

/** ['resources', 2, 'wire', 'type'] -> 'resources[2].wire.type'; [] -> '(profile)'. */
export function formatPath(path: FieldPath): string {
  if (path.length === 0) return '(profile)';
  return path.reduce<string>((out, part) => (typeof part === 'number' ? `${out}[${part}]` : out === '' ? part : `${out}.${part}`), '');
}

/** Parses and validates one profile; throws ProfileError. */
export function parseProfile(yamlText: string, file = '<inline>'): DeviceProfile {
  const lineCounter = new LineCounter();
  const doc = parseDocument(yamlText, { lineCounter, uniqueKeys: true });
  const syntax = doc.errors[0];
  if (syntax) {
    const pos = syntax.linePos?.[0];
    const problem =
      syntax.code === 'MULTIPLE_DOCS'
        ? 'a profile file holds one YAML document; found a second one'
        : syntax.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    throw new ProfileError(file, pos ? `line ${pos.line}, column ${pos.col}` : '(yaml)', problem, pos?.line);
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw new ProfileError(file, '(yaml)', (err as Error).message);
  }

  const fail = (path: FieldPath, problem: string): never => {
    throw new ProfileError(file, formatPath(path), problem, lineOf(doc, lineCounter, path));
  };

  if (data === null || data === undefined) fail([], 'the file is empty');
  const first = checkProfile.Errors(data).First();
  if (first) {
    const path = fieldPath(first.path, data);
    fail(path, describe(first, path));
  }
  return resolveProfile(data as ProfileSource, file, fail);
}

/** TypeBox's JSON pointer -> field path, with numbers for array indices. */
function fieldPath(pointer: string, data: unknown): FieldPath {
  const path: (string | number)[] = [];
  let node = data;
  for (const raw of pointer.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const key = Array.isArray(node) && /^\d+$/.test(part) ? Number(part) : part;
    path.push(key);
    node = node !== null && typeof node === 'object' ? (node as Record<string | number, unknown>)[key] : undefined;
  }
  return path;
}

/** A value as the person wrote it: JSON, except numbers JSON cannot show (Infinity, NaN). */
const shown = (value: unknown): string => (typeof value === 'number' ? String(value) : JSON.stringify(value));

/** A schema error in words a person editing the file understands. */
function describe(error: ValueError, path: FieldPath): string {
  const got = error.value === undefined ? '' : `, got ${shown(error.value)}`;
  const name = path.at(-1);
  switch (error.type) {
    case ValueErrorType.ObjectRequiredProperty:
      return 'is missing';
    case ValueErrorType.ObjectAdditionalProperties: {
      const parent = schemaAt(ProfileSchema, path.slice(0, -1)) as { properties?: Record<string, TSchema> } | undefined;
      const known = Object.keys(parent?.properties ?? {});
      return `unknown field '${String(name)}'${known.length ? ` (known: ${known.join(', ')})` : ''}`;
    }
    case ValueErrorType.Union: {
      const options = (error.schema.anyOf as TSchema[] | undefined)?.map((s) => s.const as unknown);
      if (options?.every((o) => typeof o === 'string')) return `must be one of ${options.join(', ')}${got}`;
      break;
    }
    case ValueErrorType.Literal:
      return `must be ${JSON.stringify(error.schema.const)}${got}`;
    case ValueErrorType.StringPattern:
      return `${shown(error.value)} does not match ${error.schema.pattern as string}`;
  }
  return `${error.message.charAt(0).toLowerCase()}${error.message.slice(1)}${got}`;
}

/** 1-based line of the field at `path`: its key when it is in a map, else the nearest node that exists. */
function lineOf(doc: Document, lineCounter: LineCounter, path: FieldPath): number | undefined {
  const lineAt = (node: unknown): number | undefined => {
    const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
    return range ? lineCounter.linePos(range[0]).line : undefined;
  };
  const nodeAt = (depth: number): unknown => (depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true));
  const parent = path.length > 0 ? nodeAt(path.length - 1) : undefined;
  if (isMap(parent)) {
    const pair = parent.items.find((item) => isScalar(item.key) && item.key.value === path.at(-1));
    if (pair) return lineAt(pair.key);
  }
  for (let depth = path.length; depth >= 0; depth--) {
    const line = lineAt(nodeAt(depth));
    if (line !== undefined) return line;
  }
  return undefined;
}
