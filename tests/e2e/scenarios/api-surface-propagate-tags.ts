/**
 * `propagateTags` on RunTask and StartTask through the AWS SDK: a task definition's tags copied
 * onto its new tasks under the call's own, within the 50-tag limit.
 */
import { ListTagsForResourceCommand, RunTaskCommand, type Tag } from '@aws-sdk/client-ecs';
import { beforeAll, describe, expect, it } from 'vitest';
import { someTags } from '../../helpers/builders';
import { errorOf } from '../../helpers/ecs-errors';
import { type ApiSurface, SURFACE_CLUSTER, SURFACE_FAMILY } from './api-surface-context';

type PropagateTags = 'TASK_DEFINITION' | 'SERVICE' | 'NONE';

/** A family registered with two tags, `team` and `tier`, for its tasks to take. */
const TAGGED_FAMILY = 'surface-propagating';

export function definePropagateTagScenarios(surface: ApiSurface) {
  const tagsOf = async (resourceArn: string) =>
    (await surface.ecs.send(new ListTagsForResourceCommand({ resourceArn }))).tags;

  describe('propagateTags', () => {
    beforeAll(async () => {
      await surface.registerFamily(TAGGED_FAMILY, [
        { key: 'team', value: 'red' },
        { key: 'tier', value: 'web' },
      ]);
    });

    const runOrStart = {
      RunTask: async (input: { tags?: Tag[]; propagateTags?: PropagateTags }) =>
        (
          await surface.ecs.send(
            new RunTaskCommand({ cluster: SURFACE_CLUSTER, taskDefinition: TAGGED_FAMILY, ...input }),
          )
        ).tasks![0],
      StartTask: (input: { tags?: Tag[]; propagateTags?: PropagateTags }) =>
        surface.startTask({ taskDefinition: TAGGED_FAMILY, ...input }),
    };

    for (const [action, start] of Object.entries(runOrStart)) {
      it(`${action} copies the task definition's tags onto the task with TASK_DEFINITION, the call's own winning on a key clash`, async () => {
        const task = await start({
          propagateTags: 'TASK_DEFINITION',
          tags: [
            { key: 'tier', value: 'db' },
            { key: 'owner', value: 'me' },
          ],
        });
        const expected = [
          { key: 'team', value: 'red' },
          { key: 'tier', value: 'db' },
          { key: 'owner', value: 'me' },
        ];
        expect(task.tags).toEqual(expected);
        expect(await tagsOf(task.taskArn!)).toEqual(expected);
      });

      it(`${action} copies nothing with NONE or without propagateTags`, async () => {
        const own = [{ key: 'owner', value: 'me' }];
        expect((await start({ propagateTags: 'NONE', tags: own })).tags).toEqual(own);
        expect((await start({ tags: own })).tags).toEqual(own);
      });

      it(`${action} refuses a task that would have more than 50 tags with its task definition's`, async () => {
        const error = await errorOf(start({ propagateTags: 'TASK_DEFINITION', tags: someTags('own', 49) }));
        expect(error).toMatchObject({ name: 'InvalidParameterException', status: 400 });
        expect(error.message).toMatch(/51 tags/);
      });
    }

    it('StartTask accepts SERVICE, which has nothing to copy until services exist', async () => {
      const task = await runOrStart.StartTask({ propagateTags: 'SERVICE' });
      expect(task.tags).toEqual([]);
    });

    it('RunTask refuses SERVICE, as ECS does: its tasks belong to no service', async () => {
      const error = await errorOf(runOrStart.RunTask({ propagateTags: 'SERVICE' }));
      expect(error).toMatchObject({ name: 'InvalidParameterException', status: 400 });
      expect(error.message).toMatch(/propagateTags/);
    });

    it('copies nothing from a task definition without tags', async () => {
      const task = await surface.startTask({
        taskDefinition: SURFACE_FAMILY,
        propagateTags: 'TASK_DEFINITION',
      });
      expect(task.tags).toEqual([]);
    });
  });
}
