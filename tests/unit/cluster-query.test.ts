import { describe, expect, it } from 'vitest';
import { EcsError } from '../../worker/core/errors';
import type { PlacementInstance } from '../../worker/core/placement';
import { matchesClusterQuery, parseClusterQuery } from '../../worker/core/placement';

function anInstance(overrides: Partial<PlacementInstance> = {}): PlacementInstance {
  return {
    arn: 'arn:aws:ecs:local:000000000000:container-instance/default/i-1',
    id: 'i-1',
    status: 'ACTIVE',
    agentConnected: true,
    agentVersion: '1.14.5',
    registeredAtMs: Date.parse('2018-02-13T10:00:00Z'),
    attributes: {
      'ecs.instance-type': 't2.small',
      'ecs.availability-zone': 'us-east-1a',
      'ecs.os-type': 'linux',
    },
    remainingCpu: 1024,
    remainingMemoryMiB: 2048,
    usedHostPorts: [],
    runningTasksCount: 1,
    pendingTasksCount: 0,
    taskGroups: ['service:production'],
    ...overrides,
  };
}

const matches = (expression: string, instance = anInstance()): boolean =>
  matchesClusterQuery(parseClusterQuery(expression), instance);

function parseError(expression: string): string {
  try {
    parseClusterQuery(expression, 'placementConstraints[0].expression');
  } catch (error) {
    expect(error).toBeInstanceOf(EcsError);
    expect((error as EcsError).errorName).toBe('InvalidParameterException');
    return (error as EcsError).message;
  }
  throw new Error(`expected "${expression}" to be rejected`);
}

describe('cluster query examples from the ECS guide', () => {
  it.each([
    ['attribute:ecs.instance-type == t2.small', true],
    ['attribute:ecs.availability-zone in [us-east-1a, us-east-1b]', true],
    ['attribute:ecs.instance-type =~ g2.* and attribute:ecs.availability-zone != us-east-1d', false],
    ['task:group == service:production', true],
    ['not(task:group == database)', true],
    ['runningTasksCount == 1', true],
    ['agentVersion < 1.14.5', false],
    ['registeredAt < 2018-02-13', false],
    ["ec2InstanceId in ['i-abcd1234', 'i-wxyx7890']", false],
  ])('evaluates %s to %s', (expression, expected) => {
    expect(matches(expression)).toBe(expected);
  });
});

describe('cluster query operators', () => {
  it('compares strings for equality with == and equals, and their negations', () => {
    expect(matches('attribute:ecs.os-type == linux')).toBe(true);
    expect(matches('attribute:ecs.os-type equals windows')).toBe(false);
    expect(matches('attribute:ecs.os-type != windows')).toBe(true);
    expect(matches('attribute:ecs.os-type not_equals linux')).toBe(false);
  });

  it('orders numeric attributes as numbers and other attributes as strings', () => {
    const instance = anInstance({ attributes: { cores: '16', tier: 'b' } });
    expect(matches('attribute:cores > 9', instance)).toBe(true);
    expect(matches('attribute:cores greater_than_equal 16', instance)).toBe(true);
    expect(matches('attribute:cores < 100', instance)).toBe(true);
    expect(matches('attribute:cores less_than_equal 15', instance)).toBe(false);
    expect(matches('attribute:tier > a', instance)).toBe(true);
    expect(matches('attribute:tier less_than c', instance)).toBe(true);
  });

  it('tests presence with exists, !exists and not_exists', () => {
    const instance = anInstance({ attributes: { gpu: null } });
    expect(matches('attribute:gpu exists', instance)).toBe(true);
    expect(matches('attribute:gpu !exists', instance)).toBe(false);
    expect(matches('attribute:ssd not_exists', instance)).toBe(true);
    expect(matches('task:group exists', anInstance({ taskGroups: [] }))).toBe(false);
  });

  it('tests membership with in, !in and not_in, on bracketed, parenthesized and quoted lists', () => {
    expect(matches('attribute:ecs.availability-zone in (us-east-1b, us-east-1a)')).toBe(true);
    expect(matches('attribute:ecs.availability-zone !in [us-east-1a]')).toBe(false);
    expect(matches('attribute:ecs.availability-zone not_in ["us-east-1c", \'us-east-1d\']')).toBe(true);
  });

  it('matches whole values against patterns with =~, matches, !~ and not_matches', () => {
    expect(matches('attribute:ecs.instance-type =~ t2.*')).toBe(true);
    expect(matches('attribute:ecs.instance-type matches t2')).toBe(false);
    expect(matches("attribute:ecs.instance-type matches 't2\\.(micro|small)'")).toBe(true);
    expect(matches('attribute:ecs.instance-type !~ m5.*')).toBe(true);
    expect(matches('attribute:ecs.instance-type not_matches t.*')).toBe(false);
  });

  it('reads an unquoted pattern with balanced brackets up to the end of the comparison', () => {
    expect(matches('attribute:ecs.instance-type =~ t2.(micro|small)')).toBe(true);
    expect(matches('attribute:ecs.instance-type =~ t[0-9].small')).toBe(true);
    expect(matches('(attribute:ecs.instance-type =~ m5.*) || (attribute:ecs.os-type =~ lin(ux))')).toBe(true);
  });

  it('reads a subject without a value as failing every positive test and passing every negative one', () => {
    const instance = anInstance({ attributes: { gpu: null } });
    for (const subject of ['attribute:gpu', 'attribute:missing']) {
      expect(matches(`${subject} == x`, instance)).toBe(false);
      expect(matches(`${subject} != x`, instance)).toBe(true);
      expect(matches(`${subject} in [x]`, instance)).toBe(false);
      expect(matches(`${subject} not_in [x]`, instance)).toBe(true);
      expect(matches(`${subject} =~ .*`, instance)).toBe(false);
      expect(matches(`${subject} !~ .*`, instance)).toBe(true);
      expect(matches(`${subject} > 0`, instance)).toBe(false);
    }
  });
});

describe('cluster query subjects', () => {
  it('reads agentConnected as a boolean', () => {
    expect(matches('agentConnected == true')).toBe(true);
    expect(matches('agentConnected == FALSE', anInstance({ agentConnected: false }))).toBe(true);
    expect(matches('agentConnected in [false]')).toBe(false);
    expect(matches('agentConnected =~ tr.*')).toBe(true);
  });

  it('orders agentVersion part by part, so 1.9.0 is older than 1.14.5', () => {
    expect(matches('agentVersion > 1.9.0')).toBe(true);
    expect(matches('agentVersion >= 1.14.5')).toBe(true);
    expect(matches('agentVersion <= 1.14')).toBe(false);
    expect(matches('agentVersion == 1.14.5')).toBe(true);
  });

  it('reads ec2InstanceId and instanceId as the container instance id', () => {
    expect(matches('ec2InstanceId == i-1')).toBe(true);
    expect(matches('instanceId =~ i-.*')).toBe(true);
    expect(matches('instanceId != i-1')).toBe(false);
  });

  it('compares registeredAt with dates, where a bare date means its whole UTC day', () => {
    expect(matches('registeredAt == 2018-02-13')).toBe(true);
    expect(matches('registeredAt <= 2018-02-13')).toBe(true);
    expect(matches('registeredAt > 2018-02-13')).toBe(false);
    expect(matches('registeredAt >= 2018-02-13')).toBe(true);
    expect(matches('registeredAt > 2018-02-13T09:59:59Z')).toBe(true);
    expect(matches('registeredAt < 2018-02-13T10:00:01+00:00')).toBe(true);
    expect(matches('registeredAt == 2018-02-13T10:00:00')).toBe(true);
    expect(matches('registeredAt < 2018-02-13T11:00:00+02:00')).toBe(false);
  });

  it('compares runningTasksCount as a number', () => {
    const busy = anInstance({ runningTasksCount: 12 });
    expect(matches('runningTasksCount > 9', busy)).toBe(true);
    expect(matches('runningTasksCount < 2', busy)).toBe(false);
    expect(matches('runningTasksCount != 12', busy)).toBe(false);
  });

  it('holds task:group when any task on the instance is in the group', () => {
    const instance = anInstance({ taskGroups: ['family:web', 'service:db'] });
    expect(matches('task:group == service:db', instance)).toBe(true);
    expect(matches('task:group != service:db', instance)).toBe(false);
    expect(matches('task:group in [family:api, family:web]', instance)).toBe(true);
    expect(matches('task:group =~ service:.*', instance)).toBe(true);
    expect(matches('task:group == service:db', anInstance({ taskGroups: [] }))).toBe(false);
  });
});

describe('compound cluster queries', () => {
  it('combines with and, &&, or and ||', () => {
    expect(matches('attribute:ecs.os-type == linux and runningTasksCount == 1')).toBe(true);
    expect(matches('attribute:ecs.os-type == linux && runningTasksCount == 2')).toBe(false);
    expect(matches('attribute:ecs.os-type == windows or runningTasksCount == 1')).toBe(true);
    expect(matches('attribute:ecs.os-type == windows || runningTasksCount == 2')).toBe(false);
  });

  it('negates with not and !', () => {
    expect(matches('not attribute:ecs.os-type == linux')).toBe(false);
    expect(matches('!(attribute:ecs.os-type == windows)')).toBe(true);
    expect(matches('not not runningTasksCount == 1')).toBe(true);
  });

  it('binds and tighter than or, and parentheses tighter than both', () => {
    expect(matches('runningTasksCount == 1 or runningTasksCount == 5 and agentConnected == false')).toBe(
      true,
    );
    expect(matches('(runningTasksCount == 1 or runningTasksCount == 5) and agentConnected == false')).toBe(
      false,
    );
  });

  it('accepts values that are also keywords, and operators without spaces', () => {
    const instance = anInstance({ attributes: { mode: 'and', level: 'in' } });
    expect(matches('attribute:mode == and and attribute:level == in', instance)).toBe(true);
    expect(matches('attribute:mode==and&&attribute:level!=out', instance)).toBe(true);
  });
});

describe('malformed cluster queries', () => {
  it.each([
    ['attribute:zone == ', "expected a value after '==' at position 18"],
    ['attribute:zone', "expected an operator after 'attribute:zone' at position 14"],
    ['', 'expected a subject such as attribute:<name> or task:group at position 0'],
    ['color == red', "unknown subject 'color' at position 0"],
    ['attribute: == x', "'' is not a valid attribute name at position 10"],
    ['attribute:zone <> a', "expected a value after '<' at position 16"],
    ['attribute:zone == !a', "expected a value after '==' at position 18"],
    ['attribute:zone == !a', "expected a value after '==' at position 18"],
    [
      'attribute:zone == a b',
      "expected 'and', 'or' or the end of the expression but found 'b' at position 20",
    ],
    ['(attribute:zone == a', "expected ')' to close the '(' at 0 at position 20"],
    [
      'attribute:zone == a)',
      "expected 'and', 'or' or the end of the expression but found ')' without a matching '(' at position 19",
    ],
    ['attribute:zone == a and', 'expected a subject such as attribute:<name> or task:group at position 23'],
    ['attribute:zone in a', "expected a list like [a, b] after 'in' at position 18"],
    ['attribute:zone in [a b]', "expected ',' or ']' in the list at position 21"],
    ['attribute:zone in []', "expected a value after '[' at position 19"],
    ["attribute:zone == 'a", 'unterminated quoted value at position 18'],
    ['agentConnected > true', "operator '>' is not valid for agentConnected at position 15"],
    ['agentConnected == yes', "expected true or false but found 'yes' at position 18"],
    ['runningTasksCount >= many', "expected a whole number but found 'many' at position 21"],
    ['registeredAt < 2018-02-30', 'expected a date like 2018-06-18 or 2018-06-18T22:28:28Z but found'],
    ['agentVersion exists', "operator 'exists' is not valid for agentVersion at position 13"],
    ['attribute:type =~ t2.(micro', "bad pattern: unclosed '(' at position 21"],
    ["attribute:type =~ 'a\\1'", "bad pattern: escape '\\1' is not supported at position 20"],
  ])('rejects %j with %j', (expression, message) => {
    expect(parseError(expression)).toContain(`placementConstraints[0].expression: ${message}`);
  });

  it('quotes the whole expression in the message', () => {
    expect(parseError('attribute:zone == ')).toBe(
      `placementConstraints[0].expression: expected a value after '==' at position 18 in "attribute:zone == "`,
    );
  });

  it('rejects expressions longer than 2000 characters', () => {
    const long = `attribute:zone in [${Array.from({ length: 400 }, (_, i) => `zone-${i}`).join(', ')}]`;
    expect(long.length).toBeGreaterThan(2000);
    expect(parseError(long)).toBe('placementConstraints[0].expression: must be at most 2000 characters');
  });
});
