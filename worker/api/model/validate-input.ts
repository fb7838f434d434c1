/**
 * Checks a request body against its operation's input shape in the ECS API model, the way the
 * AWS JSON 1.1 front does before any handler runs: required members, JSON types, enums, and the
 * model's min/max, and returns the copy handlers get. As in AWS's JSON protocol, a member set to
 * null counts as absent and members the model does not know are dropped (clients newer than the
 * model still work, and nothing unvalidated is stored or echoed back). The first error wins; its
 * message names the full path, e.g.
 * `containerDefinitions[0].portMappings[1].containerPort: expected an integer, got string`.
 *
 * Where the model sets no bound, Berth sets its own, far above anything ECS accepts in practice:
 * MAX_STRING_CHARS per string, MAX_COLLECTION_ITEMS per list or map, int32 for `integer`, safe
 * integers for `long`. The request body as a whole is capped before this runs (body-limit.ts).
 */
import { EcsError, invalidParameter } from '../../core/errors';
import type { EcsOperationName } from '../../ecs-types.generated';
import model from './ecs-model.generated.json';
import type { ApiModel, ShapeModel } from './model-types';

const API_MODEL = model as unknown as ApiModel;

/**
 * 32 KiB: the model gives many strings no maximum (shape `String`), yet ECS caps a whole task
 * definition at 64 KiB and RunTask overrides at 8 KiB, so no single field of a real request is
 * near this.
 */
export const MAX_STRING_CHARS = 32 * 1024;
/** Lists and maps without a model maximum (ECS documents 10 to 100 items where it says). */
export const MAX_COLLECTION_ITEMS = 1000;
/** Smithy's `integer` is a signed 32-bit number; `long` is 64-bit, of which JSON keeps 53 bits exactly. */
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
/** The range of a JavaScript Date, in epoch seconds. */
const MAX_EPOCH_SECONDS = 8.64e12;

export function operationNames(): string[] {
  return Object.keys(API_MODEL.operations);
}

/**
 * An operation of the model. ecs-types.generated.ts is generated from the same model, so the name
 * is one of its EcsOperationName.
 */
export function isKnownOperation(name: string): name is EcsOperationName {
  return Object.hasOwn(API_MODEL.operations, name);
}

/** The validated copy of `input`: only model members, no nulls. Throws an EcsError naming the bad field. */
export function validateInput(operation: string, input: unknown): Record<string, unknown> {
  if (!isKnownOperation(operation)) {
    throw new EcsError('UnknownOperationException', `Unknown action '${operation}'.`);
  }
  if (!isJsonObject(input)) {
    throw invalidParameter(`The request body must be a JSON object, got ${describe(input)}.`);
  }
  const inputShape = API_MODEL.operations[operation].input;
  if (!inputShape) return {};
  return cleanStructure(shapeOf(inputShape), input, []);
}

/**
 * The path to the value being checked: member names, list indexes, and map keys (already
 * bracketed). A stack is pushed and popped instead of building strings, so a valid request
 * allocates no path text at all.
 */
type PathSegment = string | number;

function formatPath(path: PathSegment[]): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else if (segment.startsWith('[')) text += segment;
    else text += text === '' ? segment : `.${segment}`;
  }
  return text;
}

function fail(path: PathSegment[], problem: string): never {
  throw invalidParameter(`${formatPath(path)}: ${problem}`);
}

function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return typeof value;
}

function shapeOf(name: string): ShapeModel {
  const shape = API_MODEL.shapes[name];
  // The generator includes every shape reachable from an input, so this is a generator bug.
  if (!shape) throw new Error(`API model has no shape named ${name}; rerun scripts/generate-api-model.mjs`);
  return shape;
}

function cleanValue(shapeName: string, value: unknown, path: PathSegment[]): unknown {
  const shape = shapeOf(shapeName);
  switch (shape.type) {
    case 'structure':
      return cleanStructure(shape, value, path);
    case 'list':
      return cleanList(shape, value, path);
    case 'map':
      return cleanMap(shape, value, path);
    case 'string':
      return checkString(shape, value, path);
    case 'boolean':
      if (typeof value !== 'boolean') fail(path, `expected a boolean, got ${describe(value)}`);
      return value;
    case 'integer':
      return checkInteger(shape, value, path, INT32_MIN, INT32_MAX);
    case 'long':
      return checkInteger(shape, value, path, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
    case 'double':
    case 'float':
      if (typeof value !== 'number' || !Number.isFinite(value))
        fail(path, `expected a number, got ${describe(value)}`);
      checkRange(shape.min, shape.max, value, path);
      return value;
    case 'timestamp':
      return checkTimestamp(value, path);
    default:
      // Blobs carry arbitrary data; nothing to check.
      return value;
  }
}

function cleanStructure(shape: ShapeModel, value: unknown, path: PathSegment[]): Record<string, unknown> {
  if (!isJsonObject(value)) fail(path, `expected an object, got ${describe(value)}`);
  // A document carries arbitrary JSON; its depth is bounded by the front's nesting limit.
  if (shape.document) return value;
  const members = shape.members ?? {};
  for (const name of shape.required ?? []) {
    if (value[name] === undefined || value[name] === null) {
      path.push(name);
      fail(path, 'required field is missing');
    }
  }
  const cleaned: Record<string, unknown> = {};
  for (const name of Object.keys(value)) {
    const member = value[name];
    if (member === null || member === undefined || !Object.hasOwn(members, name)) continue;
    path.push(name);
    // Only model member names are copied, so a key like `__proto__` never reaches the copy.
    cleaned[name] = cleanValue(members[name].shape, member, path);
    path.pop();
  }
  return cleaned;
}

function cleanList(shape: ShapeModel, value: unknown, path: PathSegment[]): unknown[] {
  if (!Array.isArray(value)) fail(path, `expected a list, got ${describe(value)}`);
  checkCount(shape, value.length, 'items', path);
  const memberShape = shape.member!.shape;
  const cleaned: unknown[] = [];
  for (let i = 0; i < value.length; i++) {
    path.push(i);
    cleaned.push(cleanValue(memberShape, value[i], path));
    path.pop();
  }
  return cleaned;
}

function cleanMap(shape: ShapeModel, value: unknown, path: PathSegment[]): Record<string, unknown> {
  if (!isJsonObject(value)) fail(path, `expected an object, got ${describe(value)}`);
  const keys = Object.keys(value);
  checkCount(shape, keys.length, 'entries', path);
  const keyShape = shape.key!.shape;
  const valueShape = shape.value!.shape;
  const entries: [string, unknown][] = [];
  for (const key of keys) {
    path.push(`[${JSON.stringify(abbreviate(key))}]`);
    checkString(shapeOf(keyShape), key, path);
    entries.push([key, cleanValue(valueShape, value[key], path)]);
    path.pop();
  }
  // fromEntries defines own properties, so a map key `__proto__` stays an ordinary key.
  return Object.fromEntries(entries);
}

function checkCount(shape: ShapeModel, count: number, noun: string, path: PathSegment[]): void {
  const max = shape.max ?? MAX_COLLECTION_ITEMS;
  if (shape.min !== undefined && count < shape.min)
    fail(path, `expected at least ${shape.min} ${noun}, got ${count}`);
  if (count > max) fail(path, `expected at most ${max} ${noun}, got ${count}`);
}

/** Smithy lengths count code points; `.length` counts UTF-16 units, which is never fewer. */
function codePointLength(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

function checkString(shape: ShapeModel, value: unknown, path: PathSegment[]): string {
  if (typeof value !== 'string') fail(path, `expected a string, got ${describe(value)}`);
  if (shape.enum && !shape.enum.includes(value)) {
    // The rejected value is echoed back at most in part, so an error never carries a huge string.
    fail(path, `'${abbreviate(value)}' is not one of ${shape.enum.join(', ')}`);
  }
  if (shape.min !== undefined && value.length < shape.min) {
    fail(path, `expected at least ${shape.min} characters, got ${value.length}`);
  }
  const max = shape.max ?? MAX_STRING_CHARS;
  if (value.length > max) {
    const length = codePointLength(value);
    if (length > max) fail(path, `expected at most ${max} characters, got ${length}`);
  }
  return value;
}

function abbreviate(text: string): string {
  return text.length <= 64 ? text : `${text.slice(0, 64)}...`;
}

function checkInteger(
  shape: ShapeModel,
  value: unknown,
  path: PathSegment[],
  typeMin: number,
  typeMax: number,
): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    fail(path, `expected an integer, got ${describe(value)}`);
  }
  checkRange(shape.min ?? typeMin, shape.max ?? typeMax, value, path);
  return value;
}

function checkRange(
  min: number | undefined,
  max: number | undefined,
  value: number,
  path: PathSegment[],
): void {
  if (min !== undefined && value < min) fail(path, `must be at least ${min}, got ${value}`);
  if (max !== undefined && value > max) fail(path, `must be at most ${max}, got ${value}`);
}

const ISO_8601 = /^\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[Zz]|[+-]\d{2}:?\d{2})?)?$/;

/** JSON 1.1 sends timestamps as epoch seconds; ISO 8601 strings are accepted as well. */
function checkTimestamp(value: unknown, path: PathSegment[]): number | string {
  if (typeof value === 'number' && Number.isFinite(value) && Math.abs(value) <= MAX_EPOCH_SECONDS)
    return value;
  if (typeof value === 'string' && ISO_8601.test(value) && !Number.isNaN(Date.parse(value))) return value;
  fail(path, `expected a timestamp (epoch seconds or an ISO 8601 string), got ${describe(value)}`);
}
