/**
 * Members of the ECS API that are newer than the botocore model kept in
 * worker/api/model/source/ (which stays byte for byte as botocore ships it), added to it before both
 * generators read it. Each is in the @aws-sdk/client-ecs Berth's clients use (3.1164), so a client
 * sends it and the front must not drop it as unknown. Remove an entry once the source model has it.
 *
 * - DeploymentCircuitBreaker.resetOnHealthyTask and .thresholdConfiguration (ECS, 2026-07;
 *   hashicorp/terraform-provider-aws#48748), with the ThresholdConfiguration and ThresholdType shapes.
 */
const ADDED_SHAPES = {
  ThresholdConfiguration: {
    type: 'structure',
    required: ['type', 'value'],
    members: {
      type: { shape: 'ThresholdType' },
      value: { shape: 'Integer' },
    },
  },
  ThresholdType: { type: 'string', enum: ['BOUNDED_PERCENT', 'COUNT', 'UNBOUNDED_PERCENT'] },
};

const ADDED_MEMBERS = {
  DeploymentCircuitBreaker: {
    resetOnHealthyTask: { shape: 'BoxedBoolean' },
    thresholdConfiguration: { shape: 'ThresholdConfiguration' },
  },
};

export function withAdditions(service) {
  const shapes = { ...service.shapes };
  for (const [name, shape] of Object.entries(ADDED_SHAPES)) shapes[name] ??= shape;
  for (const [name, members] of Object.entries(ADDED_MEMBERS)) {
    const shape = shapes[name];
    if (!shape) throw new Error(`api-model-additions: the source model has no shape ${name}`);
    shapes[name] = { ...shape, members: { ...members, ...shape.members } };
  }
  return { ...service, shapes };
}
