/**
 * `berth services <pause|resume|rollback|stop|start> --cluster C --service S [--revision ARN]`:
 * the Berth API's service controls (worker/api/service-controls.ts) from the shell. It reaches the
 * control plane at --endpoint or BERTH_ENDPOINT (default http://127.0.0.1:8787), prints the
 * service as one JSON object, and exits 1 with the ECS error name and message when refused.
 */
import { flag, type ParsedArgs } from './args';

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
  const endpoint = (flag(args, 'endpoint') ?? process.env.BERTH_ENDPOINT ?? 'http://127.0.0.1:8787').replace(
    /\/+$/,
    '',
  );
  const url = `${endpoint}/berth/v1/clusters/${encodeURIComponent(cluster)}/services/${encodeURIComponent(service)}/${action}`;
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(action === 'rollback' ? { serviceRevisionArn: revision } : {}),
  });
  const body = (await response.json().catch(() => ({}))) as { __type?: string; message?: string };
  if (!response.ok) throw new Error(`${body.__type ?? `HTTP ${response.status}`}: ${body.message ?? ''}`);
  console.log(JSON.stringify(body, null, 2));
}
