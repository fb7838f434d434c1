/**
 * `berth services <pause|resume|rollback|stop|start> --cluster C --service S [--revision ARN]`:
 * the Berth API's service controls (worker/api/service-controls.ts) from the shell, signed as
 * berth-api-client.ts says. Prints the service as one JSON object, and exits 1 with the ECS error
 * name and message when refused.
 */
import { flag, type ParsedArgs } from './args';
import { callBerthApi } from './berth-api-client';

const CONTROLS = ['pause', 'resume', 'rollback', 'stop', 'start'];

export async function runServiceControl(action: string | undefined, args: ParsedArgs): Promise<void> {
  if (!action || !CONTROLS.includes(action)) {
    throw new Error(`services: the action must be one of ${CONTROLS.join(', ')}`);
  }
  const service = flag(args, 'service');
  if (!service) throw new Error('services: --service <name> is required');
  const cluster = flag(args, 'cluster') ?? 'default';
  const revision = flag(args, 'revision');
  if (action === 'rollback' && !revision) {
    throw new Error('services rollback: --revision <service-revision ARN> is required');
  }
  const answer = await callBerthApi(
    args,
    'POST',
    `/berth/v1/clusters/${encodeURIComponent(cluster)}/services/${encodeURIComponent(service)}/${action}`,
    action === 'rollback' ? { serviceRevisionArn: revision } : {},
  );
  console.log(JSON.stringify(answer, null, 2));
}
