/**
 * Every command is recorded first and answered second: `ack` once it is in the state file, or a
 * `nack` with a typed error when it could not be accepted. Acting on it comes after, in the task
 * controllers, so no Docker call ever delays or changes the answer.
 */
import { agentErrorOf } from '../errors';
import type { HandlerContext, RunTask, StopTask } from './types';

export async function answerCommand(
  command: RunTask | StopTask,
  context: HandlerContext,
  record: () => Promise<void>,
): Promise<void> {
  try {
    await record();
  } catch (failure) {
    const error = agentErrorOf(failure);
    context.log(`refused ${command.type} ${command.messageId}: ${error.name}: ${error.message}`);
    context.reply({ type: 'nack', messageId: command.messageId, error });
    return;
  }
  context.reply({ type: 'ack', messageId: command.messageId });
}
