import Docker from 'dockerode';
import { CONTAINER_LABELS } from '../../protocol/agent-protocol';

export const TEST_IMAGE = 'berth-test/busybox:latest';
export const docker = new Docker();

/** Every container the agent created for a task, found by the label it puts on them. */
export async function containersOfTask(taskArn: string) {
  return docker.listContainers({ all: true, filters: { label: [`${CONTAINER_LABELS.taskArn}=${taskArn}`] } });
}

/** Removes containers of the given tasks (tests clean up after themselves). */
export async function removeTaskContainers(taskArns: string[]) {
  for (const arn of taskArns) {
    for (const info of await containersOfTask(arn)) {
      await docker
        .getContainer(info.Id)
        .remove({ force: true })
        .catch(() => undefined);
    }
  }
}
