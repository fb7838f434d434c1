import { answerCommand } from './answer-command';
import type { ControlFrameHandler } from './types';

/** Stop a task: recorded (fenced by generation), answered, then stopped by its task controller. */
export const onStopTask: ControlFrameHandler<'stopTask'> = (command, context) =>
  answerCommand(command, context, () => context.tasks.stopTask(command));
