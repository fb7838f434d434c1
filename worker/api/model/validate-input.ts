/**
 * Checks a request body against its operation's input shape in the ECS API model, the way the
 * AWS JSON 1.1 front does before any handler runs: required members, JSON types, enums, and the
 * model's min/max. Unknown members are ignored (clients newer than the model still work) and an
 * optional member set to null counts as absent. The first error wins; its message names the full
 * path, e.g. `containerDefinitions[0].portMappings[1].containerPort: expected an integer, got string`.
 */
import { clientError, invalidParameter } from '../../core/errors';
import model from './ecs-model.generated.json';
import type { ApiModel, ShapeModel } from './model-types';

const API_MODEL = model as unknown as ApiModel;

export function operationNames(): string[] {
  return Object.keys(API_MODEL.operations);
}

export function isKnownOperation(name: string): boolean {
  return Object.hasOwn(API_MODEL.operations, name);
}

export function validateInput(operation: string, input: unknown): void {
  if (!isKnownOperation(operation)) throw clientError(`Unknown action '${operation}'.`);
  if (!isJsonObject(input)) {
    throw invalidParameter(`The request body must be a JSON object, got ${describe(input)}.`);
  }
  const inputShape = API_MODEL.operations[operation].input;
  if (inputShape) checkValue(inputShape, input, []);
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

function checkValue(shapeName: string, value: unknown, path: PathSegment[]): void {
  const shape = shapeOf(shapeName);
  switch (shape.type) {
    case 'structure':
      checkStructure(shape, value, path);
      break;
    case 'list':
      checkList(shape, value, path);
      break;
    case 'map':
      checkMap(shape, value, path);
      break;
    case 'string':
      checkString(shape, value, path);
      break;
    case 'boolean':
      if (typeof value !== 'boolean') fail(path, `expected a boolean, got ${describe(value)}`);
      break;
    case 'integer':
    case 'long':
      if (typeof value !== 'number' || !Number.isInteger(value)) {
        fail(path, `expected an integer, got ${describe(value)}`);
      }
      checkRange(shape, value, path);
      break;
    case 'double':
    case 'float':
      if (typeof value !== 'number' || !Number.isFinite(value))
        fail(path, `expected a number, got ${describe(value)}`);
      checkRange(shape, value, path);
      break;
    case 'timestamp':
      checkTimestamp(value, path);
      break;
    default:
      // Blobs carry arbitrary data; nothing to check.
      break;
  }
}

function checkStructure(shape: ShapeModel, value: unknown, path: PathSegment[]): void {
  if (!isJsonObject(value)) fail(path, `expected an object, got ${describe(value)}`);
  if (shape.document) return;
  const members = shape.members ?? {};
  for (const name of shape.required ?? []) {
    if (value[name] === undefined || value[name] === null) {
      path.push(name);
      fail(path, 'required field is missing');
    }
  }
  for (const name of Object.keys(value)) {
    const member = value[name];
    if (member === null || member === undefined || !Object.hasOwn(members, name)) continue;
    path.push(name);
    checkValue(members[name].shape, member, path);
    path.pop();
  }
}

function checkList(shape: ShapeModel, value: unknown, path: PathSegment[]): void {
  if (!Array.isArray(value)) fail(path, `expected a list, got ${describe(value)}`);
  if (shape.min !== undefined && value.length < shape.min) {
    fail(path, `expected at least ${shape.min} items, got ${value.length}`);
  }
  if (shape.max !== undefined && value.length > shape.max) {
    fail(path, `expected at most ${shape.max} items, got ${value.length}`);
  }
  const memberShape = shape.member!.shape;
  for (let i = 0; i < value.length; i++) {
    path.push(i);
    checkValue(memberShape, value[i], path);
    path.pop();
  }
}

function checkMap(shape: ShapeModel, value: unknown, path: PathSegment[]): void {
  if (!isJsonObject(value)) fail(path, `expected an object, got ${describe(value)}`);
  const keyShape = shape.key!.shape;
  const valueShape = shape.value!.shape;
  for (const key of Object.keys(value)) {
    path.push(`[${JSON.stringify(key)}]`);
    checkValue(keyShape, key, path);
    checkValue(valueShape, value[key], path);
    path.pop();
  }
}

/** Smithy lengths count code points; `.length` counts UTF-16 units, which is never fewer. */
function codePointLength(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

function checkString(shape: ShapeModel, value: unknown, path: PathSegment[]): void {
  if (typeof value !== 'string') fail(path, `expected a string, got ${describe(value)}`);
  if (shape.enum && !shape.enum.includes(value)) {
    fail(path, `'${value}' is not one of ${shape.enum.join(', ')}`);
  }
  if (shape.min !== undefined && value.length < shape.min) {
    fail(path, `expected at least ${shape.min} characters, got ${value.length}`);
  }
  if (shape.max !== undefined && value.length > shape.max) {
    const length = codePointLength(value);
    if (length > shape.max) fail(path, `expected at most ${shape.max} characters, got ${length}`);
  }
}

function checkRange(shape: ShapeModel, value: number, path: PathSegment[]): void {
  if (shape.min !== undefined && value < shape.min) fail(path, `must be at least ${shape.min}, got ${value}`);
  if (shape.max !== undefined && value > shape.max) fail(path, `must be at most ${shape.max}, got ${value}`);
}

const ISO_8601 = /^\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[Zz]|[+-]\d{2}:?\d{2})?)?$/;

/** JSON 1.1 sends timestamps as epoch seconds; ISO 8601 strings are accepted as well. */
function checkTimestamp(value: unknown, path: PathSegment[]): void {
  if (typeof value === 'number' && Number.isFinite(value)) return;
  if (typeof value === 'string' && ISO_8601.test(value) && !Number.isNaN(Date.parse(value))) return;
  fail(path, `expected a timestamp (epoch seconds or an ISO 8601 string), got ${describe(value)}`);
}
