/**
 * Request bodies for the ECS API fuzz, generated from the same model the front validates against
 * (worker/api/model/ecs-model.generated.json). Most members get a value of the right shape, often
 * one that names something that exists (FUZZ_NAMES), so handlers are reached; the rest are hostile:
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

/** Names the fuzz's setup creates, so generated requests often find what they name. */
export const FUZZ_NAMES = {
  cluster: 'fuzz',
  family: 'fuzz-web',
};

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
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 8 }),
  fc.constant<Generated>([]),
  fc.constant<Generated>({}),
  fc.integer({ min: MAX_STRING_CHARS - 2, max: MAX_STRING_CHARS + 2 }).map((length) => 'Q'.repeat(length)),
  fc
    .tuple(fc.integer({ min: 30, max: 6000 }), fc.constantFrom<'{' | '['>('{', '['))
    .map(([depth, opener]) => new RawJson(nestedText(depth, opener))),
  fc.dictionary(
    fc.constantFrom('futureFeature', '__proto__', 'constructor', 'toString', 'x'),
    fc.jsonValue({ maxDepth: 2 }),
    {
      maxKeys: 3,
    },
  ) as fc.Arbitrary<Generated>,
);

function realisticStrings(memberName: string): string[] {
  const lower = memberName.toLowerCase();
  const cluster = `arn:aws:ecs:us-east-1:000000000000:cluster/${FUZZ_NAMES.cluster}`;
  if (lower === 'nexttoken') return forgedNextTokens;
  if (lower.includes('cluster')) return [FUZZ_NAMES.cluster, 'default', cluster, 'no-such-cluster', ''];
  if (lower.includes('taskdefinition') || lower === 'family' || lower === 'familyprefix') {
    return [
      FUZZ_NAMES.family,
      `${FUZZ_NAMES.family}:1`,
      `${FUZZ_NAMES.family}:99999999999`,
      'fuzz-web:x',
      ':',
    ];
  }
  if (lower.includes('task')) {
    return [
      'a'.repeat(32),
      `arn:aws:ecs:us-east-1:000000000000:task/${FUZZ_NAMES.cluster}/${'b'.repeat(32)}`,
      'arn:aws:ecs:us-east-1:000000000000:task/other/x',
    ];
  }
  if (lower.includes('containerinstance')) {
    return ['c'.repeat(32), `arn:aws:ecs:us-east-1:000000000000:container-instance/${FUZZ_NAMES.cluster}/x`];
  }
  return ['web', 'a', 'arn:aws:ecs:us-east-1:000000000000:cluster/x', '🚀'];
}

function stringArbitrary(shape: ShapeModel, memberName: string): fc.Arbitrary<Generated> {
  if (shape.enum)
    return fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...shape.enum) }, fc.string({ maxLength: 6 }));
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...realisticStrings(memberName)) },
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
function memberArbitrary(shapeName: string, memberName: string, depth: number): fc.Arbitrary<Generated> {
  return fc.oneof(
    { weight: 12, arbitrary: shapeArbitrary(shapeName, memberName, depth) },
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

function listArbitrary(shape: ShapeModel, memberName: string, depth: number): fc.Arbitrary<Generated> {
  const item = memberArbitrary(shape.member!.shape, memberName, depth + 1);
  const overCap = (shape.max ?? MAX_COLLECTION_ITEMS) + 1;
  // Just over the cap, or far over it; items are small so the body stays under the size cap.
  const smallItem = isScalar(shape.member!.shape)
    ? shapeArbitrary(shape.member!.shape, memberName, depth + 1)
    : fc.constant({});
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

function structureArbitrary(shape: ShapeModel, depth: number): fc.Arbitrary<Generated> {
  if (shape.document) return fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Generated>;
  const required = shape.required ?? [];
  const memberArbitraries = new Map<string, fc.Arbitrary<Generated>>();
  for (const [name, ref] of Object.entries(shape.members ?? {})) {
    if (depth > OPTIONAL_MEMBERS_UNTIL_DEPTH && !required.includes(name)) continue;
    memberArbitraries.set(name, memberArbitrary(ref.shape, name, depth + 1));
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

function shapeArbitrary(shapeName: string, memberName: string, depth: number): fc.Arbitrary<Generated> {
  const shape = API_MODEL.shapes[shapeName];
  switch (shape.type) {
    case 'structure':
      return structureArbitrary(shape, depth);
    case 'list':
      return listArbitrary(shape, memberName, depth);
    case 'map':
      return fc.dictionary(
        fc.oneof(fc.string({ minLength: 1, maxLength: 10 }), fc.constant('__proto__')),
        memberArbitrary(shape.value!.shape, memberName, depth + 1),
        { maxKeys: 3 },
      ) as fc.Arbitrary<Generated>;
    case 'string':
      return stringArbitrary(shape, memberName);
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

const bodyByOperation = new Map<string, fc.Arbitrary<string>>();

/** JSON text for a request to `operation`: mostly its input shape, sometimes hostile throughout. */
export function ecsBodyArbitrary(operation: string): fc.Arbitrary<string> {
  let body = bodyByOperation.get(operation);
  if (!body) {
    const inputShape = API_MODEL.operations[operation]?.input;
    const shaped = inputShape ? shapeArbitrary(inputShape, '', 0).map(toJsonText) : fc.constant('{}');
    body = fc.oneof({ weight: 20, arbitrary: shaped }, { weight: 1, arbitrary: malformedBody });
    bodyByOperation.set(operation, body);
  }
  return body;
}
