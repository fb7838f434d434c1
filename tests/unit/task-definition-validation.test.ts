import { describe, expect, it } from 'vitest';
import { EcsError, type EcsErrorName } from '../../worker/core/errors';
import type {
  ContainerDefinition,
  RegisterTaskDefinitionInput,
} from '../../worker/core/task-definitions/types';
import {
  containerMemoryMiB,
  effectiveEssential,
  parseTaskCpuUnits,
  parseTaskMemoryMiB,
  validateTaskDefinitionInput,
} from '../../worker/core/task-definitions/validate';
import { validatePortMappings } from '../../worker/core/task-definitions/validate-ports';

const container = (overrides: Partial<ContainerDefinition> = {}): ContainerDefinition => ({
  name: 'web',
  image: 'busybox:latest',
  memory: 64,
  ...overrides,
});

const taskDefinition = (
  overrides: Partial<RegisterTaskDefinitionInput> = {},
  containers: ContainerDefinition[] = [container()],
): RegisterTaskDefinitionInput => ({ family: 'web', containerDefinitions: containers, ...overrides });

function rejectionOf(validate: () => void): EcsError {
  try {
    validate();
  } catch (error) {
    if (error instanceof EcsError) return error;
    throw error;
  }
  throw new Error('expected the task definition to be rejected');
}

const rejection = (input: RegisterTaskDefinitionInput): EcsError =>
  rejectionOf(() => validateTaskDefinitionInput(input));

function expectRejected(input: RegisterTaskDefinitionInput, errorName: EcsErrorName, ...fragments: string[]) {
  const error = rejection(input);
  expect(error.errorName).toBe(errorName);
  for (const fragment of fragments) expect(error.message).toContain(fragment);
}

describe('validateTaskDefinitionInput', () => {
  it('accepts a minimal task definition', () => {
    expect(() => validateTaskDefinitionInput(taskDefinition())).not.toThrow();
  });

  it('accepts a realistic multi-container task definition', () => {
    const input = taskDefinition({ cpu: '1 vCPU', memory: '1 GB' }, [
      container({
        name: 'app',
        cpu: 512,
        memory: 512,
        memoryReservation: 256,
        portMappings: [{ containerPort: 80 }],
      }),
      container({ name: 'migrate', essential: false, memory: undefined, memoryReservation: 64 }),
      container({
        name: 'proxy',
        memory: 128,
        links: ['app:backend'],
        portMappings: [{ containerPort: 443, hostPort: 8443, protocol: 'tcp' }],
        dependsOn: [
          { containerName: 'app', condition: 'START' },
          { containerName: 'migrate', condition: 'SUCCESS' },
        ],
        stopTimeout: 120,
        environment: [{ name: 'MODE', value: 'edge' }],
      }),
    ]);
    expect(() => validateTaskDefinitionInput(input)).not.toThrow();
  });

  describe('family', () => {
    it('must be present', () => {
      expectRejected(taskDefinition({ family: '' }), 'ClientException', 'family', 'required');
    });

    it('allows only letters, numbers, hyphens and underscores, up to 255', () => {
      expectRejected(taskDefinition({ family: 'web.app' }), 'ClientException', 'family', "'web.app'");
      expectRejected(taskDefinition({ family: 'a'.repeat(256) }), 'ClientException', 'family');
      expect(() =>
        validateTaskDefinitionInput(taskDefinition({ family: `A_b-9${'x'.repeat(250)}` })),
      ).not.toThrow();
    });
  });

  describe('containerDefinitions', () => {
    it('must not be empty', () => {
      expectRejected(taskDefinition({}, []), 'ClientException', 'containerDefinitions', 'cannot be empty');
    });

    it('holds at most 10 containers', () => {
      const containers = Array.from({ length: 11 }, (_, i) => container({ name: `c${i}` }));
      expectRejected(taskDefinition({}, containers), 'ClientException', 'containerDefinitions', 'at most 10');
      expect(() => validateTaskDefinitionInput(taskDefinition({}, containers.slice(0, 10)))).not.toThrow();
    });

    it('needs at least one essential container, counting an omitted essential as true', () => {
      expectRejected(
        taskDefinition({}, [container({ essential: false })]),
        'ClientException',
        'containerDefinitions',
        'essential',
      );
      expect(() =>
        validateTaskDefinitionInput(taskDefinition({}, [container({ essential: undefined })])),
      ).not.toThrow();
    });
  });

  describe('container name', () => {
    it('is required', () => {
      expectRejected(
        taskDefinition({}, [container({ name: undefined })]),
        'ClientException',
        'containerDefinitions[0].name',
      );
    });

    it('allows only letters, numbers, hyphens and underscores', () => {
      expectRejected(
        taskDefinition({}, [container({ name: 'my web' })]),
        'ClientException',
        'containerDefinitions[0].name',
      );
    });

    it('is unique within the task definition', () => {
      const input = taskDefinition({}, [container(), container({ image: 'nginx' })]);
      expectRejected(input, 'ClientException', 'containerDefinitions[1].name', 'unique', "'web'");
    });
  });

  describe('container image', () => {
    it('is required', () => {
      expectRejected(
        taskDefinition({}, [container({ image: '' })]),
        'ClientException',
        'containerDefinitions[0].image',
      );
    });

    it('has no whitespace', () => {
      expectRejected(
        taskDefinition({}, [container({ image: 'busybox latest' })]),
        'ClientException',
        'containerDefinitions[0].image',
        'whitespace',
      );
    });

    it('is at most 255 characters before any digest', () => {
      expectRejected(
        taskDefinition({}, [container({ image: `registry.local/${'a'.repeat(250)}` })]),
        'ClientException',
        'containerDefinitions[0].image',
        '255',
      );
      const pinned = `${'a'.repeat(200)}@sha256:${'f'.repeat(64)}`;
      expect(() =>
        validateTaskDefinitionInput(taskDefinition({}, [container({ image: pinned })])),
      ).not.toThrow();
    });
  });

  describe('container memory', () => {
    it('is at least 6 MiB for the hard limit and the reservation', () => {
      expectRejected(
        taskDefinition({}, [container({ memory: 4 })]),
        'ClientException',
        'containerDefinitions[0].memory',
        '6 MiB',
      );
      expectRejected(
        taskDefinition({}, [container({ memory: undefined, memoryReservation: 5 })]),
        'ClientException',
        'containerDefinitions[0].memoryReservation',
        '6 MiB',
      );
    });

    it('keeps the reservation at or below the hard limit', () => {
      expectRejected(
        taskDefinition({}, [container({ memory: 128, memoryReservation: 256 })]),
        'ClientException',
        'containerDefinitions[0].memoryReservation',
      );
      const equal = container({ memory: 128, memoryReservation: 128 });
      expect(() => validateTaskDefinitionInput(taskDefinition({}, [equal]))).not.toThrow();
    });

    it('needs memory or memoryReservation when the task sets no memory', () => {
      const bare = container({ memory: undefined });
      expectRejected(
        taskDefinition({}, [bare]),
        'ClientException',
        'containerDefinitions[0].memory',
        "Invalid setting for container 'web'. At least one of 'memory' or 'memoryReservation' must be specified.",
      );
      expect(() => validateTaskDefinitionInput(taskDefinition({ memory: '512' }, [bare]))).not.toThrow();
    });

    it('fits inside task-level memory', () => {
      expectRejected(
        taskDefinition({ memory: '256' }, [container({ memory: 512 })]),
        'ClientException',
        'containerDefinitions[0].memory',
        '256 MiB',
      );
      const pair = [container({ name: 'a', memory: 200 }), container({ name: 'b', memory: 200 })];
      expectRejected(taskDefinition({ memory: '256' }, pair), 'ClientException', 'memory:', '400 MiB');
    });
  });

  describe('container cpu and stopTimeout', () => {
    it('keeps cpu within 0 to 10240 units', () => {
      expectRejected(
        taskDefinition({}, [container({ cpu: -1 })]),
        'ClientException',
        'containerDefinitions[0].cpu',
      );
      expectRejected(
        taskDefinition({}, [container({ cpu: 10_241 })]),
        'ClientException',
        'containerDefinitions[0].cpu',
      );
      expect(() => validateTaskDefinitionInput(taskDefinition({}, [container({ cpu: 0 })]))).not.toThrow();
    });

    it('keeps the containers within task-level cpu', () => {
      const input = taskDefinition({ cpu: '256' }, [container({ cpu: 512 })]);
      expectRejected(input, 'ClientException', 'cpu:', '512');
    });

    it('keeps stopTimeout within 0 to 120 seconds', () => {
      expectRejected(
        taskDefinition({}, [container({ stopTimeout: 121 })]),
        'ClientException',
        'containerDefinitions[0].stopTimeout',
        '120',
      );
    });
  });

  describe('task-level cpu and memory', () => {
    it('rejects values that are neither numbers nor vCPU / GB amounts', () => {
      expectRejected(
        taskDefinition({ cpu: 'lots' }),
        'ClientException',
        'cpu:',
        "Invalid 'cpu' setting for task",
      );
      expectRejected(
        taskDefinition({ memory: '2 TB' }),
        'ClientException',
        'memory:',
        "Invalid 'memory' setting for task",
      );
    });
  });

  describe('environment', () => {
    it('needs a non-empty name without "="', () => {
      expectRejected(
        taskDefinition({}, [container({ environment: [{ name: '', value: 'x' }] })]),
        'ClientException',
        'containerDefinitions[0].environment[0].name',
      );
      expectRejected(
        taskDefinition({}, [
          container({
            environment: [
              { name: 'A', value: '1' },
              { name: 'B=C', value: '2' },
            ],
          }),
        ]),
        'ClientException',
        'containerDefinitions[0].environment[1].name',
      );
    });
  });

  describe('networkMode', () => {
    it('rejects awsvpc as unsupported by Berth', () => {
      expectRejected(
        taskDefinition({ networkMode: 'awsvpc' }),
        'InvalidParameterException',
        'networkMode',
        'not supported',
      );
    });

    it('rejects a mode ECS does not know', () => {
      expectRejected(
        taskDefinition({ networkMode: 'nat' as never }),
        'InvalidParameterException',
        'networkMode',
      );
    });

    it('registers host mode, which only a cluster whose container policy allows it will run', () => {
      expect(() => validateTaskDefinitionInput(taskDefinition({ networkMode: 'host' }))).not.toThrow();
    });

    it('allows links only in bridge mode, to another container', () => {
      const linked = [container({ name: 'db' }), container({ links: ['db:database'] })];
      expectRejected(
        taskDefinition({ networkMode: 'none' }, linked),
        'ClientException',
        'containerDefinitions[1].links',
        'bridge',
      );
      expect(() => validateTaskDefinitionInput(taskDefinition({}, linked))).not.toThrow();
      expectRejected(
        taskDefinition({}, [container({ links: ['cache'] })]),
        'ClientException',
        'containerDefinitions[0].links[0]',
        "'cache'",
      );
    });
  });

  describe('portMappings', () => {
    const withPorts = (portMappings: ContainerDefinition['portMappings'], networkMode?: 'bridge' | 'none') =>
      taskDefinition({ networkMode }, [container({ portMappings })]);

    it('needs a containerPort between 1 and 65535', () => {
      expectRejected(
        withPorts([{ hostPort: 80 }]),
        'ClientException',
        'containerDefinitions[0].portMappings[0].containerPort',
      );
      expectRejected(withPorts([{ containerPort: 0 }]), 'ClientException', 'portMappings[0].containerPort');
      expectRejected(
        withPorts([{ containerPort: 80 }, { containerPort: 70_000 }]),
        'ClientException',
        'containerDefinitions[0].portMappings[1].containerPort',
      );
    });

    it('keeps hostPort between 0 and 65535', () => {
      expectRejected(
        withPorts([{ containerPort: 80, hostPort: 65_536 }]),
        'ClientException',
        'portMappings[0].hostPort',
      );
      expect(() =>
        validateTaskDefinitionInput(withPorts([{ containerPort: 80, hostPort: 0 }])),
      ).not.toThrow();
    });

    it('accepts only tcp and udp', () => {
      const input = withPorts([{ containerPort: 80, protocol: 'sctp' as never }]);
      expectRejected(input, 'InvalidParameterException', 'portMappings[0].protocol', 'tcp, udp');
    });

    // The port rules of host mode, checked on the port validator alone.
    const hostModeRejection = (containers: ContainerDefinition[]): EcsError =>
      rejectionOf(() => validatePortMappings(containers, 'host'));

    it('requires hostPort to equal containerPort, or be omitted, in host mode', () => {
      const error = hostModeRejection([container({ portMappings: [{ containerPort: 80, hostPort: 8080 }] })]);
      expect(error.errorName).toBe('ClientException');
      expect(error.message).toContain('portMappings[0].hostPort');
      expect(error.message).toContain('networkMode=host');
      expect(() =>
        validatePortMappings([container({ portMappings: [{ containerPort: 80 }] })], 'host'),
      ).not.toThrow();
      expect(() =>
        validatePortMappings([container({ portMappings: [{ containerPort: 80, hostPort: 80 }] })], 'host'),
      ).not.toThrow();
    });

    it('allows no port mappings in none mode', () => {
      expectRejected(
        withPorts([{ containerPort: 80 }], 'none'),
        'ClientException',
        'containerDefinitions[0].portMappings',
        'none',
      );
    });

    it('maps a static host port and protocol only once per task definition', () => {
      const input = taskDefinition({}, [
        container({ name: 'a', portMappings: [{ containerPort: 80, hostPort: 8080 }] }),
        container({ name: 'b', portMappings: [{ containerPort: 81, hostPort: 8080, protocol: 'tcp' }] }),
      ]);
      expectRejected(
        input,
        'ClientException',
        'containerDefinitions[1].portMappings[0].hostPort',
        '8080/tcp',
        "'a'",
      );
    });

    it('lets one host port serve tcp and udp, and dynamic ports repeat freely', () => {
      const input = withPorts([
        { containerPort: 53, hostPort: 53, protocol: 'tcp' },
        { containerPort: 53, hostPort: 53, protocol: 'udp' },
        { containerPort: 80 },
        { containerPort: 81, hostPort: 0 },
      ]);
      expect(() => validateTaskDefinitionInput(input)).not.toThrow();
    });

    it('counts container ports as host ports in host mode', () => {
      const error = hostModeRejection([
        container({ name: 'a', portMappings: [{ containerPort: 80 }] }),
        container({ name: 'b', portMappings: [{ containerPort: 80, hostPort: 80 }] }),
      ]);
      expect(error.errorName).toBe('ClientException');
      expect(error.message).toContain('containerDefinitions[1].portMappings[0]');
      expect(error.message).toContain('80/tcp');
    });
  });

  describe('dependsOn', () => {
    const app = (dependsOn: ContainerDefinition['dependsOn'], target: Partial<ContainerDefinition> = {}) =>
      taskDefinition({}, [
        container({ name: 'app', dependsOn }),
        container({ name: 'db', essential: false, ...target }),
      ]);

    it('names another container of the task definition', () => {
      expectRejected(
        app([{ containerName: 'cache', condition: 'START' }]),
        'ClientException',
        'containerDefinitions[0].dependsOn[0].containerName',
        "'cache'",
      );
    });

    it('does not name the container itself', () => {
      expectRejected(
        app([{ containerName: 'app', condition: 'START' }]),
        'ClientException',
        'containerDefinitions[0].dependsOn[0].containerName',
        'itself',
      );
    });

    it('uses a known condition', () => {
      expectRejected(
        app([{ containerName: 'db', condition: 'READY' as never }]),
        'InvalidParameterException',
        'containerDefinitions[0].dependsOn[0].condition',
        'START, COMPLETE, SUCCESS, HEALTHY',
      );
    });

    it('accepts HEALTHY only when the target has a healthCheck', () => {
      expectRejected(
        app([{ containerName: 'db', condition: 'HEALTHY' }]),
        'InvalidParameterException',
        'containerDefinitions[0].dependsOn[0].condition',
        'requires container',
      );
      const checked = app([{ containerName: 'db', condition: 'HEALTHY' }], {
        healthCheck: { command: ['CMD', 'true'] },
      });
      expect(() => validateTaskDefinitionInput(checked)).not.toThrow();
    });

    it('does not wait for an essential container to complete or succeed', () => {
      for (const condition of ['COMPLETE', 'SUCCESS'] as const) {
        expectRejected(
          app([{ containerName: 'db', condition }], { essential: undefined }),
          'ClientException',
          'containerDefinitions[0].dependsOn[0].condition',
          'cannot be an essential container',
        );
      }
    });

    it('reports a dependency cycle', () => {
      const input = taskDefinition({}, [
        container({ name: 'a', dependsOn: [{ containerName: 'b', condition: 'START' }] }),
        container({ name: 'b', dependsOn: [{ containerName: 'c', condition: 'START' }] }),
        container({ name: 'c', dependsOn: [{ containerName: 'a', condition: 'START' }] }),
      ]);
      expectRejected(input, 'ClientException', 'containerDefinitions[0].dependsOn', 'a -> b -> c -> a');
    });
  });
});

describe('task size helpers', () => {
  it('parses task cpu as units or vCPUs', () => {
    expect(parseTaskCpuUnits('1024')).toBe(1024);
    expect(parseTaskCpuUnits('1 vCPU')).toBe(1024);
    expect(parseTaskCpuUnits('0.5vcpu')).toBe(512);
    expect(parseTaskCpuUnits('.25 VCPU')).toBe(256);
  });

  it('rejects task cpu outside 128 to 196608 units, naming the given field', () => {
    expect(() => parseTaskCpuUnits('64')).toThrow(/^cpu: /);
    expect(() => parseTaskCpuUnits('200 vCPU', 'overrides.cpu')).toThrow(/^overrides\.cpu: /);
  });

  it('parses task memory as MiB or GB', () => {
    expect(parseTaskMemoryMiB('512')).toBe(512);
    expect(parseTaskMemoryMiB('2 GB')).toBe(2048);
    expect(parseTaskMemoryMiB('0.5GB')).toBe(512);
    expect(parseTaskMemoryMiB('300 MiB')).toBe(300);
    expect(() => parseTaskMemoryMiB('4')).toThrow(/^memory: /);
  });

  it('reserves the hard limit, or else the soft reservation, on the instance', () => {
    expect(containerMemoryMiB({ memory: 512, memoryReservation: 128 })).toBe(512);
    expect(containerMemoryMiB({ memory: 512 })).toBe(512);
    expect(containerMemoryMiB({ memoryReservation: 64 })).toBe(64);
    expect(containerMemoryMiB({})).toBe(0);
  });

  it('treats a container as essential unless it says otherwise', () => {
    expect(effectiveEssential({})).toBe(true);
    expect(effectiveEssential({ essential: null })).toBe(true);
    expect(effectiveEssential({ essential: false })).toBe(false);
  });
});
