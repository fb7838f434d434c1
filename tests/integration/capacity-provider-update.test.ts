/** UpdateCapacityProvider through the real AWS SDK against a Node control plane. */
import {
  CreateCapacityProviderCommand,
  DeleteCapacityProviderCommand,
  DescribeCapacityProvidersCommand,
  UpdateCapacityProviderCommand,
} from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestControlPlane, type TestControlPlane } from '../helpers/control-plane';

const ASG = {
  autoScalingGroupArn:
    'arn:aws:autoscaling:us-east-1:000000000000:autoScalingGroup:1:autoScalingGroupName/hosts',
};

describe('UpdateCapacityProvider', () => {
  let test: TestControlPlane;

  beforeAll(async () => {
    test = await startTestControlPlane();
    await test.ecs.send(
      new CreateCapacityProviderCommand({
        name: 'tunable',
        autoScalingGroupProvider: { ...ASG, managedScaling: { status: 'ENABLED', targetCapacity: 90 } },
      }),
    );
  });
  afterAll(async () => {
    await test?.close();
  });

  it('replaces only the fields it names, managedScaling field by field, and answers UPDATE_COMPLETE', async () => {
    const out = await test.ecs.send(
      new UpdateCapacityProviderCommand({
        name: 'tunable',
        autoScalingGroupProvider: {
          managedScaling: { targetCapacity: 70 },
          managedTerminationProtection: 'ENABLED',
        },
      }),
    );
    const expected = {
      ...ASG,
      managedScaling: {
        status: 'ENABLED',
        targetCapacity: 70,
        minimumScalingStepSize: 1,
        maximumScalingStepSize: 10_000,
        instanceWarmupPeriod: 300,
      },
      managedTerminationProtection: 'ENABLED',
    };
    expect(out.capacityProvider).toMatchObject({
      name: 'tunable',
      status: 'ACTIVE',
      updateStatus: 'UPDATE_COMPLETE',
      autoScalingGroupProvider: expected,
    });
    const described = await test.ecs.send(
      new DescribeCapacityProvidersCommand({ capacityProviders: ['tunable'] }),
    );
    expect(described.capacityProviders![0].autoScalingGroupProvider).toEqual(expected);
  });

  it('refuses unknown and deleted providers, Fargate, and settings that contradict each other', async () => {
    const update = (
      name: string,
      autoScalingGroupProvider = { managedTerminationProtection: 'DISABLED' as const },
    ) => test.ecs.send(new UpdateCapacityProviderCommand({ name, autoScalingGroupProvider }));
    await expect(update('nobody')).rejects.toMatchObject({
      name: 'ClientException',
      message: expect.stringMatching(/does not exist/),
    });
    await expect(update('FARGATE')).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message: expect.stringMatching(/^name: FARGATE is AWS Fargate's/),
    });
    await expect(
      test.ecs.send(
        new UpdateCapacityProviderCommand({
          name: 'tunable',
          autoScalingGroupProvider: {
            managedScaling: { minimumScalingStepSize: 20, maximumScalingStepSize: 10 },
          },
        }),
      ),
    ).rejects.toMatchObject({
      name: 'InvalidParameterException',
      message: expect.stringMatching(
        /^autoScalingGroupProvider\.managedScaling\.minimumScalingStepSize: must not exceed/,
      ),
    });
    await expect(test.ecs.send(new UpdateCapacityProviderCommand({ name: 'tunable' }))).rejects.toMatchObject(
      {
        name: 'InvalidParameterException',
        message: 'autoScalingGroupProvider: required field is missing',
      },
    );

    await test.ecs.send(new DeleteCapacityProviderCommand({ capacityProvider: 'tunable' }));
    await expect(update('tunable')).rejects.toMatchObject({ name: 'ClientException' });
  });
});
