/**
 * Request bodies for the ECS API fuzz, generated from the same model the front validates against
 * (worker/api/model/ecs-model.generated.json). Most members get a value of the right shape, often
 * one that names something that exists (FuzzNames), so handlers are reached; the rest are hostile:
 * null, the wrong JSON type, strings and lists just over Berth's caps, nesting thousands of levels
 * deep, unknown members (including `__proto__`), out-of-range numbers and forged nextTokens.
 * Bodies are JSON text, because some of them (deep nesting) can't be built as values and
 * serialized without overflowing the stack.
 */
import fc from 'fast-check';
import model from '../../worker/api/model/ecs-model.generated.json';
import type { ApiModel, ShapeModel } from '../../worker/api/model/model-types';
import { MAX_COLLECTION_ITEMS, MAX_STRING_CHARS } from '../../worker/api/model/validate-input';

const API_MODEL = model as unknown as ApiModel;

/** What the fuzz's setup created, so generated requests often name something that exists. */
export interface FuzzNames {
  cluster: string;
  family: string;
  containerInstanceArns: string[];
  taskArns: string[];
}

/** JSON text spliced into a body as is: a value too deep to build as an object. */
class RawJson {
  constructor(readonly text: string) {}
}

type Generated = RawJson | null | boolean | number | string | Generated[] | { [key: string]: Generated };

function toJsonText(value: Generated): string {
  if (value instanceof RawJson) return value.text;
  if (Array.isArray(value)) return `[${value.map(toJsonText).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value)
      .map(([key, member]) => `${JSON.stringify(key)}:${toJsonText(member)}`)
      .join(',')}}`;
  }
  // JSON has no NaN or Infinity; JSON.stringify writes them as null, as a client library would.
  return JSON.stringify(value) ?? 'null';
}

function nestedText(depth: number, opener: '{' | '['): string {
  return opener === '{'
    ? `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`
    : `${'['.repeat(depth)}${']'.repeat(depth)}`;
}

const forgedNextTokens = [
  'bzo5OTk5OTk5OTk5OTk5OTk5OTk5OQ', // o:99999999999999999999
  btoa('o:-1'),
  btoa('o:1e5'),
  btoa('o:00001'),
  btoa(`o:${Number.MAX_SAFE_INTEGER}`),
  btoa('o:1'),
  btoa('o:100'),
  '!!not base64!!',
  '',
];

/** What the wrong-typed or hostile value of any member may be. */
const hostileValue: fc.Arbitrary<Generated> = fc.oneof(
  { weight: 4, arbitrary: fc.constant(null) },
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 8 }),
  // Fresh each time: a mutation may add members to it, and a shared one would become a cycle.
  fc.constant(null).map((): Generated => []),
  fc.constant(null).map((): Generated => ({})),
  fc.integer({ min: MAX_STRING_CHARS - 2, max: MAX_STRING_CHARS + 2 }).map((length) => 'Q'.repeat(length)),
  // Nesting just under the front's limit (kept, then dropped as unknown) or far over it (refused).
  fc
    .tuple(
      fc.oneof(fc.integer({ min: 20, max: 60 }), fc.integer({ min: 61, max: 6000 })),
      fc.constantFrom<'{' | '['>('{', '['),
    )
    .map(([depth, opener]) => new RawJson(nestedText(depth, opener))),
  fc.dictionary(
    fc.constantFrom('futureFeature', '__proto__', 'constructor', 'toString', 'x'),
    fc.jsonValue({ maxDepth: 2 }),
    { maxKeys: 3 },
  ) as fc.Arbitrary<Generated>,
);

function realisticStrings(memberName: string, names: FuzzNames): string[] {
  const lower = memberName.toLowerCase();
  const clusterArn = `arn:aws:ecs:us-east-1:000000000000:cluster/${names.cluster}`;
  if (lower === 'nexttoken') return forgedNextTokens;
  if (lower.includes('cluster')) return [names.cluster, 'default', clusterArn, 'no-such-cluster', ''];
  if (lower.includes('taskdefinition') || lower === 'family' || lower === 'familyprefix') {
    return [names.family, `${names.family}:1`, `${names.family}:99999999999`, `${names.family}:x`, ':'];
  }
  if (lower.includes('containerinstance') || lower === 'targetid') {
    return [
      ...names.containerInstanceArns,
      ...names.containerInstanceArns.map((arn) => arn.split('/').pop() ?? arn),
      'arn:aws:ecs:us-east-1:000000000000:container-instance/other-cluster/x',
      'c'.repeat(32),
    ];
  }
  if (lower.includes('task')) {
    return [
      ...names.taskArns,
      ...names.taskArns.map((arn) => arn.split('/').pop() ?? arn),
      `arn:aws:ecs:us-east-1:000000000000:task/${names.cluster}/${'b'.repeat(32)}`,
      'arn:aws:ecs:us-east-1:000000000000:task/other/x',
    ];
  }
  return ['web', 'a', 'ecs.os-type', 'arn:aws:ecs:us-east-1:000000000000:cluster/x', '🚀'];
}

function stringArbitrary(shape: ShapeModel, memberName: string, names: FuzzNames): fc.Arbitrary<Generated> {
  if (shape.enum)
    return fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...shape.enum) }, fc.string({ maxLength: 6 }));
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...realisticStrings(memberName, names)) },
    {
      weight: 2,
      arbitrary: fc.string({ minLength: shape.min ?? 0, maxLength: Math.min(shape.max ?? 24, 24) }),
    },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
  );
}

function numberArbitrary(shape: ShapeModel): fc.Arbitrary<Generated> {
  const min = shape.min ?? -5;
  const max = shape.max ?? 5000;
  const inRange =
    shape.type === 'double' || shape.type === 'float'
      ? fc.double({ min, max, noNaN: true })
      : fc.integer({ min: Math.max(min, -(2 ** 31)), max: Math.min(max, 2 ** 31 - 1) });
  const outOfRange = fc.constantFrom(min - 1, max + 1, 2 ** 31, 2 ** 53, 1e300, -1e300, 1.5, -0);
  return fc.oneof({ weight: 6, arbitrary: inRange }, { weight: 1, arbitrary: outOfRange });
}

/** Usually an arbitrary of the right shape; sometimes a hostile one. */
function memberArbitrary(
  shapeName: string,
  memberName: string,
  depth: number,
  names: FuzzNames,
): fc.Arbitrary<Generated> {
  return fc.oneof(
    { weight: 12, arbitrary: shapeArbitrary(shapeName, memberName, depth, names) },
    { weight: 1, arbitrary: hostileValue },
  );
}

/** Past this depth only required members are generated, which keeps bodies small. */
const OPTIONAL_MEMBERS_UNTIL_DEPTH = 4;
/** At most this many optional members per object, so wide shapes (ContainerDefinition) stay small. */
const MAX_OPTIONAL_MEMBERS = 4;

function isScalar(shapeName: string): boolean {
  const { type } = API_MODEL.shapes[shapeName];
  return type !== 'structure' && type !== 'list' && type !== 'map';
}

function listArbitrary(
  shape: ShapeModel,
  memberName: string,
  depth: number,
  names: FuzzNames,
): fc.Arbitrary<Generated> {
  const item = memberArbitrary(shape.member!.shape, memberName, depth + 1, names);
  const overCap = (shape.max ?? MAX_COLLECTION_ITEMS) + 1;
  // Just over the cap, or far over it; items are small so the body stays under the size cap.
  const smallItem = isScalar(shape.member!.shape)
    ? shapeArbitrary(shape.member!.shape, memberName, depth + 1, names)
    : fc.constant(null).map((): Generated => ({}));
  const tooMany = fc
    .tuple(smallItem, fc.constantFrom(overCap - 1, overCap, 100_000))
    .map(([one, count]) => Array.from({ length: count }, () => one));
  return fc.oneof(
    {
      weight: 15,
      arbitrary: fc.array(item, { minLength: shape.min ?? 0, maxLength: Math.min(shape.max ?? 2, 2) }),
    },
    { weight: 1, arbitrary: tooMany },
  );
}

function structureArbitrary(shape: ShapeModel, depth: number, names: FuzzNames): fc.Arbitrary<Generated> {
  if (shape.document) return fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Generated>;
  const required = shape.required ?? [];
  const memberArbitraries = new Map<string, fc.Arbitrary<Generated>>();
  for (const [name, ref] of Object.entries(shape.members ?? {})) {
    if (depth > OPTIONAL_MEMBERS_UNTIL_DEPTH && !required.includes(name)) continue;
    memberArbitraries.set(name, memberArbitrary(ref.shape, name, depth + 1, names));
  }
  const optional = [...memberArbitraries.keys()].filter((name) => !required.includes(name));
  // Usually every required member; now and then one is missing.
  const present = fc
    .tuple(
      fc.oneof({ weight: 9, arbitrary: fc.constant(required) }, fc.subarray(required)),
      fc.subarray(optional, { maxLength: Math.min(MAX_OPTIONAL_MEMBERS, optional.length) }),
    )
    .map(([requiredNames, optionalNames]) => [...requiredNames, ...optionalNames]);
  const known = present.chain((names) => {
    const record: Record<string, fc.Arbitrary<Generated>> = {};
    for (const name of names) record[name] = memberArbitraries.get(name)!;
    return fc.record(record);
  });
  const unknown = fc.dictionary(
    fc.constantFrom('futureFeature', '__proto__', 'constructor', 'Cluster', 'extra'),
    hostileValue,
    { maxKeys: 2 },
  );
  return fc
    .tuple(known, fc.option(unknown, { freq: 4 }))
    .map(([knownMembers, unknownMembers]) => ({ ...(unknownMembers ?? {}), ...knownMembers }) as Generated);
}

function shapeArbitrary(
  shapeName: string,
  memberName: string,
  depth: number,
  names: FuzzNames,
): fc.Arbitrary<Generated> {
  const shape = API_MODEL.shapes[shapeName];
  switch (shape.type) {
    case 'structure':
      return structureArbitrary(shape, depth, names);
    case 'list':
      return listArbitrary(shape, memberName, depth, names);
    case 'map':
      return fc.dictionary(
        fc.oneof(fc.string({ minLength: 1, maxLength: 10 }), fc.constant('__proto__')),
        memberArbitrary(shape.value!.shape, memberName, depth + 1, names),
        { maxKeys: 3 },
      ) as fc.Arbitrary<Generated>;
    case 'string':
      return stringArbitrary(shape, memberName, names);
    case 'boolean':
      return fc.boolean();
    case 'integer':
    case 'long':
    case 'double':
    case 'float':
      return numberArbitrary(shape);
    case 'timestamp':
      return fc.oneof(
        fc.integer({ min: 0, max: 2_000_000_000 }),
        fc.constantFrom('2024-05-01T12:00:00Z', 'yesterday', 1e300),
      );
    default:
      return fc.string({ maxLength: 12 });
  }
}

/** Bodies that are not an object at all, or not JSON. */
const malformedBody = fc.constantFrom('', '[]', 'null', '"text"', '3', '{', '{"a":', '\u0000', '{"a":1}}');

/** JSON text for a request to `operation`: mostly its input shape, sometimes hostile throughout. */
export function ecsBodyArbitrary(operation: string, names: FuzzNames): fc.Arbitrary<string> {
  const inputShape = API_MODEL.operations[operation]?.input;
  const shaped = inputShape ? shapeArbitrary(inputShape, '', 0, names).map(toJsonText) : fc.constant('{}');
  return fc.oneof({ weight: 20, arbitrary: shaped }, { weight: 1, arbitrary: malformedBody });
}

type PathStep = string | number;
type Mutation =
  | { kind: 'delete' | 'null'; path: PathStep[] }
  | { kind: 'replace'; path: PathStep[]; value: Generated }
  | { kind: 'add'; path: PathStep[]; key: string; value: Generated };

/** Every place in `value` a mutation can reach: each member and item, and the value itself. */
function pathsIn(value: unknown, prefix: PathStep[] = []): PathStep[][] {
  const paths: PathStep[][] = [prefix];
  if (value !== null && typeof value === 'object') {
    // Object.entries gives a list's indexes as keys too.
    for (const [key, member] of Object.entries(value)) paths.push(...pathsIn(member, [...prefix, key]));
  }
  return paths;
}

function applyMutation(body: Generated, mutation: Mutation): Generated {
  const { path } = mutation;
  if (path.length === 0) return mutation.kind === 'replace' ? mutation.value : body;
  let parent = body as Record<PathStep, Generated>;
  for (const step of path.slice(0, -1)) parent = parent[step] as Record<PathStep, Generated>;
  const last = path[path.length - 1];
  switch (mutation.kind) {
    case 'delete':
      // A list item can't be left out without shifting the rest; it becomes null instead.
      if (Array.isArray(parent)) parent[last as number] = null;
      else delete parent[last];
      break;
    case 'null':
      parent[last] = null;
      break;
    case 'replace':
      parent[last] = mutation.value;
      break;
    case 'add': {
      const target = parent[last];
      if (
        target !== null &&
        typeof target === 'object' &&
        !Array.isArray(target) &&
        !(target instanceof RawJson)
      ) {
        // defineProperty, so a key named __proto__ becomes a member rather than a prototype.
        Object.defineProperty(target, mutation.key, {
          value: mutation.value,
          enumerable: true,
          writable: true,
        });
      }
      break;
    }
  }
  return body;
}

/**
 * JSON text for a valid request (`seed`) with up to three mutations: a member deleted or set to
 * null, a value replaced by a hostile one, an unknown member added. These reach deep into the
 * handlers, where the model-shaped bodies mostly stop at validation.
 */
export function mutatedBodyArbitrary(seed: Generated): fc.Arbitrary<string> {
  const paths = pathsIn(seed);
  const mutation: fc.Arbitrary<Mutation> = fc.oneof(
    fc
      .tuple(fc.constantFrom(...paths), fc.constantFrom<'delete' | 'null'>('delete', 'null'))
      .map(([path, kind]) => ({ kind, path })),
    fc
      .tuple(fc.constantFrom(...paths), hostileValue)
      .map(([path, value]) => ({ kind: 'replace' as const, path, value })),
    fc
      .tuple(
        fc.constantFrom(...paths),
        fc.constantFrom('futureFeature', '__proto__', 'constructor'),
        hostileValue,
      )
      .map(([path, key, value]) => ({ kind: 'add' as const, path, key, value })),
  );
  return fc.array(mutation, { maxLength: 3 }).map((mutations) => {
    // Later mutations may find their path gone or changed by earlier ones; such a one is skipped.
    let body = structuredClone(seed);
    for (const one of mutations) {
      try {
        body = applyMutation(body, one);
      } catch {}
    }
    return toJsonText(body);
  });
}
