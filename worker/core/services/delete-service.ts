/**
 * DeleteService, a cluster command: ACTIVE → DRAINING, after which the scheduler stops every task
 * of the service and marks it INACTIVE once none is left (DescribeServices still shows it). A
 * REPLICA service scaled above 0 needs `force`, as in ECS.
 */
import { eq } from 'drizzle-orm';
import { services } from '../../../db/schema';
import type { DeleteServiceRequest, DeleteServiceResponse } from '../../ecs-types.generated';
import type { ClusterCommand } from '../cluster/command-context';
import { EcsError, invalidParameter } from '../errors';
import { reconcileService } from './reconcile';
import { describeServiceInRoom, requireServiceInRoom } from './service-queries';

export const deleteService: ClusterCommand<DeleteServiceRequest, DeleteServiceResponse> = async (
  ctx,
  input,
) => {
  const { deps } = ctx;
  const service = await requireServiceInRoom(ctx, input.service);
  const arn = service.arn;
  if (service.status === 'INACTIVE')
    throw new EcsError('ServiceNotActiveException', 'Service was not ACTIVE.');
  if (service.status === 'ACTIVE') {
    // As ECS: only a REPLICA service scaled above 0 needs force (a daemon's count is its instances').
    if (service.schedulingStrategy === 'REPLICA' && service.desiredCount > 0 && input.force !== true) {
      throw invalidParameter('The service cannot be stopped while it is scaled above 0.');
    }
    await deps.db.update(services).set({ status: 'DRAINING', desiredCount: 0 }).where(eq(services.arn, arn));
    await reconcileService(ctx, service.name);
  }
  return { service: await describeServiceInRoom(ctx, arn) };
};
