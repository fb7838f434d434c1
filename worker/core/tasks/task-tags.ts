/**
 * The tags a new task starts with (RunTask, StartTask): the call's own, and with
 * `propagateTags: TASK_DEFINITION` those of its task definition under them. Tags reach a task only
 * when it is created; later changes go through TagResource.
 */
import type { TaskDefinitionRow } from '../../../db/schema';
import type { RunTaskRequest } from '../../ecs-types.generated';
import { invalidParameter } from '../errors';
import { MAX_TAGS, mergeTags, type Tag, validateTags } from '../tags';

export type PropagateTags = RunTaskRequest['propagateTags'];

/**
 * The call's tags win on a key both have, and the 50-tag limit holds for the merged list.
 * `SERVICE` has no source yet (no task belongs to a service until services exist), so it copies
 * nothing; NONE and no value copy nothing, as in ECS.
 */
export function tagsForNewTask(
  input: Pick<RunTaskRequest, 'tags' | 'propagateTags'>,
  definition: Pick<TaskDefinitionRow, 'tagsJson'>,
): Tag[] {
  const callTags = validateTags(input.tags);
  if (input.propagateTags !== 'TASK_DEFINITION') return callTags;
  const merged = mergeTags(JSON.parse(definition.tagsJson) as Tag[], callTags);
  if (merged.length > MAX_TAGS) {
    throw invalidParameter(
      `tags: with its task definition's tags the task would have ${merged.length} tags; at most ${MAX_TAGS} are allowed`,
    );
  }
  return merged;
}

/** RunTask never starts a task of a service, so ECS refuses SERVICE there (StartTask accepts it). */
export function refuseServiceTagSource(propagateTags: PropagateTags): void {
  if (propagateTags === 'SERVICE') {
    throw invalidParameter(
      "propagateTags: SERVICE can't be used with RunTask, whose tasks belong to no service; use TASK_DEFINITION or NONE",
    );
  }
}
