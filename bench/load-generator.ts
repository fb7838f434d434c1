/**
 * A second process that sends a steady open-loop load (requests fired on a fixed schedule, not
 * after the previous answer, so slow answers can't hide queueing) and prints latencies as JSON.
 * Usage: tsx bench/load-generator.ts <url> <ratePerSecond> <durationMs> <plan.json>
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';

interface PlannedRequest {
  name: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

const [url, rateText, durationText, planFile] = process.argv.slice(2);
const base = new URL(url);
const rate = Number(rateText);
const durationMs = Number(durationText);
const plan = JSON.parse(readFileSync(planFile, 'utf8')) as PlannedRequest[];
const latencies: Record<string, number[]> = Object.fromEntries(plan.map((p) => [p.name, []]));
let errors = 0;
let inFlight = 0;

function fire(planned: PlannedRequest) {
  const started = performance.now();
  inFlight++;
  const req = request(
    {
      host: base.hostname,
      port: base.port,
      method: planned.method,
      path: planned.path,
      headers: planned.headers,
      agent: keepAlive,
    },
    (res) => {
      res.resume();
      res.on('end', () => {
        inFlight--;
        if (res.statusCode !== 200) errors++;
        latencies[planned.name].push(performance.now() - started);
      });
    },
  );
  req.on('error', () => {
    inFlight--;
    errors++;
  });
  req.end(planned.body);
}

const keepAlive = new Agent({ keepAlive: true, maxSockets: 64 });
const intervalMs = 1000 / rate;
const start = performance.now();
let sent = 0;
await new Promise<void>((resolve) => {
  const tick = () => {
    const elapsed = performance.now() - start;
    if (elapsed >= durationMs) return resolve();
    const due = Math.floor(elapsed / intervalMs) + 1;
    while (sent < due) {
      fire(plan[sent % plan.length]);
      sent++;
    }
    setTimeout(tick, 1);
  };
  tick();
});
while (inFlight > 0) await new Promise((r) => setTimeout(r, 5));
process.stdout.write(JSON.stringify({ sent, errors, latencies }));
keepAlive.destroy();
