/**
 * The action table is typed by the ECS model (worker/ecs-types.generated.ts): each handler takes its
 * action's input shape and answers its output shape, and only the model's actions may appear. The
 * `@ts-expect-error` lines below are the proof, checked by `npm test`'s typecheck (`tsc -p .`): if
 * any of them stopped being a type error, the typecheck would fail on the unused directive.
 */
import { describe, expect, it } from 'vitest';
import { ACTIONS, type ActionTable } from '../../worker/api/actions';
import { isKnownOperation } from '../../worker/api/model/validate-input';

const answer = <T>(value: T) => Promise.resolve(value);

const wrongTables: ActionTable[] = [
  {
    // @ts-expect-error ListClusters answers clusterArns as strings, not numbers
    ListClusters: () => answer({ clusterArns: [1, 2] }),
  },
  {
    // @ts-expect-error DescribeTasks takes `tasks` as a list of strings
    DescribeTasks: (input: { tasks: number[] }) =>
      answer({ tasks: [], failures: [{ arn: `${input.tasks}` }] }),
  },
  {
    // @ts-expect-error a task's healthStatus is one of the model's enum values, not any string
    StopTask: () => answer({ task: { healthStatus: 'FINE' } }),
  },
  {
    // @ts-expect-error a task's stoppedAt is a timestamp (epoch seconds or ISO string), not a Date
    DescribeTasks: () => answer({ tasks: [{ stoppedAt: new Date() }] }),
  },
  {
    // @ts-expect-error CreateCluster answers a cluster, not a string
    CreateCluster: () => answer({ cluster: 'default' }),
  },
  {
    // @ts-expect-error an action the model doesn't have can't be in the table
    DescribeUnicorns: () => answer({}),
  },
];

describe('the API action table', () => {
  it('holds only actions of the ECS model', () => {
    expect(Object.keys(ACTIONS).filter((action) => !isKnownOperation(action))).toEqual([]);
  });

  it('rejects, at type level, handlers of the wrong shape and actions the model does not have', () => {
    // The assertions are the @ts-expect-error lines above; the tables only need to exist.
    expect(wrongTables).toHaveLength(6);
  });
});
