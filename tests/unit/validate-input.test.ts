import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import model from '../../worker/api/model/ecs-model.generated.json';
import {
  isKnownOperation,
  MAX_COLLECTION_ITEMS,
  MAX_STRING_CHARS,
  operationNames,
  validateInput,
} from '../../worker/api/model/validate-input';
import { EcsError } from '../../worker/core/errors';

const container = (overrides: Record<string, unknown> = {}) => ({
  name: 'web',
  image: 'busybox',
  ...overrides,
});
const registration = (overrides: Record<string, unknown> = {}) => ({
  family: 'web',
  containerDefinitions: [container()],
  ...overrides,
});

function errorOf(operation: string, input: unknown): EcsError {
  try {
    validateInput(operation, input);
  } catch (error) {
    if (error instanceof EcsError) return error;
    throw error;
  }
  throw new Error(`expected ${operation} input to be rejected`);
}

function expectInvalid(operation: string, input: unknown, message: string) {
  const error = errorOf(operation, input);
  expect(error.errorName).toBe('InvalidParameterException');
  expect(error.message).toBe(message);
}

describe('the generated API model', () => {
  it('names an input shape for every operation of the ECS service model', () => {
    const service = JSON.parse(
      readFileSync(
        new URL('../../worker/api/model/source/ecs-2014-11-13.service.json', import.meta.url),
        'utf8',
      ),
    ) as { operations: Record<string, { input: { shape: string } }> };
    expect(operationNames().sort()).toEqual(Object.keys(service.operations).sort());
    for (const [name, operation] of Object.entries(service.operations)) {
      expect(model.operations[name as keyof typeof model.operations]).toEqual({
        input: operation.input.shape,
      });
    }
  });

  it('is what the generator produces from the reference model today', () => {
    const script = new URL('../../scripts/generate-api-model.mjs', import.meta.url);
    expect(() =>
      execFileSync(process.execPath, [script.pathname, '--check'], { stdio: 'pipe' }),
    ).not.toThrow();
  });

  it('carries no documentation and says it is generated', () => {
    const text = JSON.stringify(model);
    expect(text).not.toContain('documentation');
    expect(model._generatedBy).toBe('scripts/generate-api-model.mjs');
  });
});

describe('isKnownOperation', () => {
  it('knows ECS operations and nothing else', () => {
    expect(isKnownOperation('RegisterTaskDefinition')).toBe(true);
    expect(isKnownOperation('CreateService')).toBe(true);
    expect(isKnownOperation('LaunchRockets')).toBe(false);
    expect(isKnownOperation('toString')).toBe(false);
  });
});

describe('validateInput', () => {
  it('accepts a well-formed request', () => {
    expect(() => validateInput('RegisterTaskDefinition', registration())).not.toThrow();
  });

  it('rejects a body that is not a JSON object', () => {
    for (const body of [[], 'text', 3, null]) {
      expect(errorOf('ListClusters', body).errorName).toBe('InvalidParameterException');
    }
    expect(errorOf('ListClusters', []).message).toContain('got array');
  });

  it("rejects an unknown operation as the JSON protocol's UnknownOperationException", () => {
    expect(errorOf('LaunchRockets', {}).errorName).toBe('UnknownOperationException');
  });

  it('names a missing required member', () => {
    expectInvalid(
      'RegisterTaskDefinition',
      { containerDefinitions: [] },
      'family: required field is missing',
    );
  });

  it('treats null as missing for a required member and as absent for an optional one', () => {
    expectInvalid(
      'RegisterTaskDefinition',
      registration({ family: null }),
      'family: required field is missing',
    );
    expect(() => validateInput('RegisterTaskDefinition', registration({ networkMode: null }))).not.toThrow();
  });

  it('names a required member missing deep inside a list', () => {
    const input = registration({
      containerDefinitions: [container({ dependsOn: [{ containerName: 'db' }] })],
    });
    expectInvalid(
      'RegisterTaskDefinition',
      input,
      'containerDefinitions[0].dependsOn[0].condition: required field is missing',
    );
  });

  it('reports a wrong scalar type with the full path', () => {
    const input = registration({
      containerDefinitions: [container({ portMappings: [{ containerPort: 80 }, { containerPort: '8080' }] })],
    });
    expectInvalid(
      'RegisterTaskDefinition',
      input,
      'containerDefinitions[0].portMappings[1].containerPort: expected an integer, got string',
    );
  });

  it('rejects a fractional or non-finite integer', () => {
    const input = registration({ containerDefinitions: [container({ memory: 1.5 })] });
    expectInvalid(
      'RegisterTaskDefinition',
      input,
      'containerDefinitions[0].memory: expected an integer, got 1.5',
    );
  });

  it('checks strings, booleans, lists, maps and structures by their JSON type', () => {
    const cases: [Record<string, unknown>, string][] = [
      [registration({ family: 7 }), 'family: expected a string, got 7'],
      [
        registration({ containerDefinitions: [container({ essential: 'yes' })] }),
        'containerDefinitions[0].essential: expected a boolean, got string',
      ],
      [
        registration({ containerDefinitions: [container({ command: 'echo hi' })] }),
        'containerDefinitions[0].command: expected a list, got string',
      ],
      [
        registration({ containerDefinitions: [container({ command: ['echo', 3] })] }),
        'containerDefinitions[0].command[1]: expected a string, got 3',
      ],
      [
        registration({ containerDefinitions: [container({ dockerLabels: ['a'] })] }),
        'containerDefinitions[0].dockerLabels: expected an object, got array',
      ],
      [
        registration({ containerDefinitions: [container({ dockerLabels: { 'com.example': 1 } })] }),
        'containerDefinitions[0].dockerLabels["com.example"]: expected a string, got 1',
      ],
      [
        registration({ containerDefinitions: ['web'] }),
        'containerDefinitions[0]: expected an object, got string',
      ],
    ];
    for (const [input, message] of cases) expectInvalid('RegisterTaskDefinition', input, message);
  });

  it('checks doubles as finite numbers', () => {
    const update = (value: unknown) => ({
      cluster: 'c',
      service: 's',
      taskSet: 't',
      scale: { value, unit: 'PERCENT' },
    });
    expect(() => validateInput('UpdateTaskSet', update(12.5))).not.toThrow();
    expectInvalid('UpdateTaskSet', update('12.5'), 'scale.value: expected a number, got string');
  });

  it('lists the allowed values of an enum', () => {
    expectInvalid(
      'RegisterTaskDefinition',
      registration({ networkMode: 'brige' }),
      "networkMode: 'brige' is not one of bridge, host, awsvpc, none",
    );
  });

  it('enforces the model length limits of lists and strings', () => {
    const tags = Array.from({ length: 51 }, (_, i) => ({ key: `k${i}`, value: 'v' }));
    expectInvalid(
      'RegisterTaskDefinition',
      registration({ tags }),
      'tags: expected at most 50 items, got 51',
    );
    expectInvalid(
      'RegisterTaskDefinition',
      registration({ tags: [{ key: '', value: 'v' }] }),
      'tags[0].key: expected at least 1 characters, got 0',
    );
    expectInvalid(
      'RegisterTaskDefinition',
      registration({ tags: [{ key: 'k'.repeat(129) }] }),
      'tags[0].key: expected at most 128 characters, got 129',
    );
  });

  it('counts string length in code points, as the model does', () => {
    const emoji = '\u{1F680}'.repeat(128);
    expect(() =>
      validateInput('RegisterTaskDefinition', registration({ tags: [{ key: emoji }] })),
    ).not.toThrow();
  });

  it('enforces the model value ranges of numbers', () => {
    const input = {
      cluster: 'default',
      taskDefinition: 'web',
      capacityProviderStrategy: [{ capacityProvider: 'cp', weight: 1001 }],
    };
    expectInvalid('RunTask', input, 'capacityProviderStrategy[0].weight: must be at most 1000, got 1001');
  });

  it('accepts timestamps as epoch seconds or ISO strings and rejects anything else', () => {
    const stateChange = (pullStartedAt: unknown) => ({ cluster: 'default', pullStartedAt });
    for (const accepted of [1_700_000_000, 1_700_000_000.5, '2024-05-01T12:00:00Z', '2024-05-01']) {
      expect(() => validateInput('SubmitTaskStateChange', stateChange(accepted))).not.toThrow();
    }
    for (const rejected of ['yesterday', '2024-13-45', true]) {
      expect(errorOf('SubmitTaskStateChange', stateChange(rejected)).message).toMatch(
        /^pullStartedAt: expected a timestamp \(epoch seconds or an ISO 8601 string\), got /,
      );
    }
  });

  it('ignores members the model does not know', () => {
    const input = registration({
      futureFeature: { anything: [1, 2] },
      containerDefinitions: [container({ x: 1 })],
    });
    expect(() => validateInput('RegisterTaskDefinition', input)).not.toThrow();
  });

  it('stops at the first error', () => {
    const input = { containerDefinitions: 'nope', networkMode: 'brige' };
    expect(errorOf('RegisterTaskDefinition', input).message).toBe('family: required field is missing');
  });
});

describe('the copy validateInput returns for the handler', () => {
  it('leaves out optional members sent as null, however deep', () => {
    expect(validateInput('StopTask', { task: 'x', reason: null })).toEqual({ task: 'x' });
    const runTask = validateInput('RunTask', {
      taskDefinition: 'web',
      group: null,
      clientToken: null,
      overrides: { containerOverrides: [{ name: 'web', environment: null, command: ['sh'] }] },
    });
    expect(runTask).toEqual({
      taskDefinition: 'web',
      overrides: { containerOverrides: [{ name: 'web', command: ['sh'] }] },
    });
    expect(
      JSON.stringify(
        validateInput('StartTask', { taskDefinition: 'web', group: null, containerInstances: ['i'] }),
      ),
    ).not.toContain('null');
  });

  it('drops members the model does not know, so they are neither stored nor echoed', () => {
    let nested: Record<string, unknown> = { leaf: true };
    for (let depth = 0; depth < 1000; depth++) nested = { nested };
    const cleaned = validateInput(
      'RegisterTaskDefinition',
      registration({ futureFeature: nested, containerDefinitions: [container({ x: 1 })] }),
    );
    expect(cleaned).toEqual(registration());
  });

  it('keeps a map key named __proto__ as an ordinary key, never as a prototype', () => {
    const labels = JSON.parse('{"__proto__": "x", "role": "web"}') as Record<string, unknown>;
    const cleaned = validateInput(
      'RegisterTaskDefinition',
      registration({ containerDefinitions: [container({ dockerLabels: labels })] }),
    );
    const copy = (cleaned.containerDefinitions as { dockerLabels: Record<string, string> }[])[0].dockerLabels;
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(Object.keys(copy)).toEqual(['__proto__', 'role']);
  });

  it('does not change the body it was given', () => {
    const body = { task: 'x', reason: null, extra: 1 };
    validateInput('StopTask', body);
    expect(body).toEqual({ task: 'x', reason: null, extra: 1 });
  });

  it('is an empty object for an operation whose input has no members', () => {
    expect(validateInput('ListClusters', { unknown: 1 })).toEqual({});
  });
});

describe("Berth's own bounds where the ECS model sets none", () => {
  it(`refuses a string longer than ${MAX_STRING_CHARS} characters, naming the field`, () => {
    expectInvalid(
      'StopTask',
      { task: 'x', reason: 'Q'.repeat(1024 * 1024) },
      `reason: expected at most ${MAX_STRING_CHARS} characters, got ${1024 * 1024}`,
    );
    expect(() =>
      validateInput('StopTask', { task: 'x', reason: 'Q'.repeat(MAX_STRING_CHARS) }),
    ).not.toThrow();
  });

  it(`refuses a list or map of more than ${MAX_COLLECTION_ITEMS} items, naming the field`, () => {
    expectInvalid(
      'DescribeTasks',
      { tasks: Array.from({ length: 100_000 }, () => 't') },
      `tasks: expected at most ${MAX_COLLECTION_ITEMS} items, got 100000`,
    );
    const labels = Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`k${i}`, 'v']));
    expectInvalid(
      'RegisterTaskDefinition',
      registration({ containerDefinitions: [container({ dockerLabels: labels })] }),
      `containerDefinitions[0].dockerLabels: expected at most ${MAX_COLLECTION_ITEMS} entries, got 1001`,
    );
  });

  it('holds integers to 32 bits and longs to what JSON numbers carry exactly', () => {
    expectInvalid(
      'RegisterTaskDefinition',
      registration({ containerDefinitions: [container({ memory: 2 ** 31 })] }),
      `containerDefinitions[0].memory: must be at most ${2 ** 31 - 1}, got ${2 ** 31}`,
    );
    expectInvalid(
      'RegisterTaskDefinition',
      registration({ containerDefinitions: [container({ memory: 1e300 })] }),
      `containerDefinitions[0].memory: must be at most ${2 ** 31 - 1}, got 1e+300`,
    );
  });

  it('echoes at most the start of a rejected enum value', () => {
    const message = errorOf(
      'RegisterTaskDefinition',
      registration({ networkMode: 'b'.repeat(10_000) }),
    ).message;
    expect(message.length).toBeLessThan(200);
  });

  it('refuses epoch seconds outside what a date can hold', () => {
    expect(errorOf('SubmitTaskStateChange', { pullStartedAt: 1e300 }).message).toMatch(
      /^pullStartedAt: expected a timestamp/,
    );
  });
});
