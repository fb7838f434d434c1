/** Container labels the agent puts on everything it creates, so a restarted agent can re-adopt them. */
export const CONTAINER_LABELS = {
  taskArn: 'com.berth.task-arn',
  containerName: 'com.berth.container-name',
  instanceId: 'com.berth.instance-id',
  generation: 'com.berth.generation',
  cluster: 'com.berth.cluster',
} as const;
