import { answerCommand } from './answer-command';
import type { ControlFrameHandler } from './types';

/** Start a task: recorded (fenced by generation), answered, then started by its task controller. */
export const onRunTask: ControlFrameHandler<'runTask'> = (command, context) =>
  answerCommand(command, context, () => context.tasks.runTask(command));
