/**
 * Sends a cluster's event webhooks: the PENDING rows of `event_deliveries` that the outbox trigger
 * queued with each recorded event (see db/schema.ts), as Standard Webhooks POSTs. It runs beside
 * the room's queue, never in it (a slow endpoint must not hold up the cluster), one pass at a time:
 * it takes the due rows, sends them at most MAX_CONCURRENT_SENDS at once, each within the attempt
 * timeout, and records each outcome in the row (the delivery log).
 *
 * At least once: a row leaves PENDING only after a 2xx, or when it has failed for the whole retry
 * window (then its subscription is disabled). The rows are the durable schedule; the room's
 * `event-delivery` deadline (persisted, so the Node timer or the Durable Object's alarm fires after
 * a restart) wakes the pass when the next retry is due, and a room that loads re-arms it from the
 * rows, which also covers a crash between an event's commit and its first attempt.
 */
import { and, asc, eq, inArray, lte, min } from 'drizzle-orm';
import { Webhook } from 'standardwebhooks';
import { eventDeliveries, eventSubscriptions, taskEvents } from '../../../db/schema';
import { openSecret } from '../auth/secret-box';
import type { NamedDeadlines } from '../cluster/deadlines';
import type { CoreDeps } from '../deps';

export const EVENT_DELIVERY = 'event-delivery';
const DEADLINE_KEY = 'due';

export const EVENT_DELIVERY_RETRY_FOR_MS = 24 * 60 * 60_000;
export const EVENT_DELIVERY_FIRST_RETRY_MS = 5_000;
export const EVENT_DELIVERY_TIMEOUT_MS = 10_000;
/** The longest wait between two attempts, however many failed before. */
const MAX_RETRY_INTERVAL_MS = 60 * 60_000;
/** Outgoing requests one cluster has in flight at once: a slow endpoint costs a few sockets, not hundreds. */
export const MAX_CONCURRENT_SENDS = 8;
/** Due rows one pass reads at a time. */
const DUE_PAGE = 64;
const ERROR_TEXT_LIMIT = 300;

/** Exponential back-off: first, 2×first, 4×first, … capped at an hour. */
export function retryDelayMs(firstRetryMs: number, failedAttempts: number): number {
  return Math.min(firstRetryMs * 2 ** Math.min(failedAttempts - 1, 30), MAX_RETRY_INTERVAL_MS);
}

type Outcome = { ok: true; status: number } | { ok: false; status?: number; error: string };

interface DueDelivery {
  id: number;
  subscriptionId: string;
  eventId: string;
  eventType: string;
  attempts: number;
  createdAtMs: number;
  url: string | null;
  state: 'ENABLED' | 'DISABLED' | null;
  secretCiphertext: string | null;
  eventJson: string;
}

export class EventDeliveries {
  private pass: Promise<void> | undefined;
  private again = false;
  private armedFromRows = false;
  /** Whether the last look at the rows found any PENDING (and so armed the deadline). */
  private somePending = false;
  private readonly signers = new Map<string, Webhook>();

  constructor(
    private readonly deps: CoreDeps,
    private readonly serverKey: Uint8Array | undefined,
    private readonly clusterArn: () => string | undefined,
    private readonly deadlines: NamedDeadlines,
    private readonly log: (line: string) => void,
  ) {}

  /** Something may be due (an event was recorded, a retry's time came, the room loaded): send it. */
  kick(): void {
    if (!this.serverKey) return;
    this.again = true;
    if (!this.pass) this.pass = this.drain();
  }

  /**
   * Runs passes while kicks keep coming. `again` is read and `pass` cleared with no await between
   * them, so a kick that lands while a pass ends is never lost (a lost kick could be the retry
   * deadline's, which the room has already forgotten).
   */
  private async drain(): Promise<void> {
    try {
      while (this.again) {
        this.again = false;
        await this.run().catch(async (error) => {
          // The database was unreachable, say: the rows wait, and the pass is tried again soon.
          this.log(`event deliveries failed, retrying: ${String(error)}`);
          await this.deadlines
            .scheduleNoLaterThan(EVENT_DELIVERY, DEADLINE_KEY, this.deps.now() + this.config.firstRetryMs)
            .catch(() => {});
        });
      }
    } finally {
      this.pass = undefined;
    }
  }

  private get config() {
    const { config } = this.deps;
    return {
      retryForMs: config.eventDeliveryRetryForMs ?? EVENT_DELIVERY_RETRY_FOR_MS,
      firstRetryMs: config.eventDeliveryFirstRetryMs ?? EVENT_DELIVERY_FIRST_RETRY_MS,
      timeoutMs: config.eventDeliveryTimeoutMs ?? EVENT_DELIVERY_TIMEOUT_MS,
    };
  }

  private async run(): Promise<void> {
    const clusterArn = this.clusterArn();
    if (!clusterArn) return;
    let sent = 0;
    for (;;) {
      const due = await this.dueDeliveries(clusterArn);
      if (due.length > 0 && sent === 0) {
        // Should this pass be cut short (the process dies, the Durable Object is evicted while
        // it sends), the rows it is sending are still PENDING: this wake-up brings them back.
        // (The alarm's handler doesn't wait for the pass: it would hold back every other wake-up
        // the room asks for meanwhile, service steps included, for as long as an endpoint is slow.)
        await this.deadlines.scheduleNoLaterThan(
          EVENT_DELIVERY,
          DEADLINE_KEY,
          this.deps.now() + this.config.timeoutMs + 1_000,
        );
      }
      sent += due.length;
      await sendAll(due, MAX_CONCURRENT_SENDS, (delivery) => this.deliver(delivery));
      if (due.length < DUE_PAGE) break;
    }
    // A pass that sent nothing changed no row's time, so the deadline still matches the rows,
    // unless the deadline itself just fired early or was taken. The first pass of a room arms it
    // from the rows: a restart lost the in-memory one. With nothing pending (no subscriptions, or
    // all delivered) a pass is one query.
    const deadlineLost = this.somePending && !this.deadlines.has(EVENT_DELIVERY, DEADLINE_KEY);
    if (sent > 0 || !this.armedFromRows || deadlineLost) await this.armNextRetry(clusterArn);
    this.armedFromRows = true;
  }

  private dueDeliveries(clusterArn: string): Promise<DueDelivery[]> {
    return this.deps.db
      .select({
        id: eventDeliveries.id,
        subscriptionId: eventDeliveries.subscriptionId,
        eventId: eventDeliveries.eventId,
        eventType: eventDeliveries.eventType,
        attempts: eventDeliveries.attempts,
        createdAtMs: eventDeliveries.createdAtMs,
        url: eventSubscriptions.url,
        state: eventSubscriptions.state,
        secretCiphertext: eventSubscriptions.secretCiphertext,
        eventJson: taskEvents.eventJson,
      })
      .from(eventDeliveries)
      .innerJoin(taskEvents, eq(taskEvents.id, eventDeliveries.eventRowId))
      .leftJoin(eventSubscriptions, eq(eventSubscriptions.id, eventDeliveries.subscriptionId))
      .where(
        and(
          eq(eventDeliveries.clusterArn, clusterArn),
          eq(eventDeliveries.status, 'PENDING'),
          lte(eventDeliveries.nextAttemptAtMs, this.deps.now()),
        ),
      )
      .orderBy(asc(eventDeliveries.nextAttemptAtMs), asc(eventDeliveries.id))
      .limit(DUE_PAGE);
  }

  private async deliver(delivery: DueDelivery): Promise<void> {
    const { db } = this.deps;
    if (!delivery.url || !delivery.secretCiphertext) {
      // Its subscription was deleted while the row waited.
      await db.delete(eventDeliveries).where(eq(eventDeliveries.id, delivery.id));
      return;
    }
    if (delivery.state !== 'ENABLED') {
      await db
        .update(eventDeliveries)
        .set({ status: 'FAILED', lastError: 'the subscription is disabled' })
        .where(eq(eventDeliveries.id, delivery.id));
      return;
    }
    const attemptedAtMs = this.deps.now();
    const outcome = await this.send(delivery);
    const attempts = delivery.attempts + 1;
    const logged = {
      attempts,
      lastAttemptAtMs: attemptedAtMs,
      lastStatusCode: outcome.status ?? null,
      lastError: outcome.ok ? null : outcome.error.slice(0, ERROR_TEXT_LIMIT),
    };
    if (outcome.ok) {
      await db
        .update(eventDeliveries)
        .set({ ...logged, status: 'DELIVERED' })
        .where(eq(eventDeliveries.id, delivery.id));
      return;
    }
    const { retryForMs, firstRetryMs } = this.config;
    const nextAttemptAtMs = this.deps.now() + retryDelayMs(firstRetryMs, attempts);
    if (nextAttemptAtMs - delivery.createdAtMs <= retryForMs) {
      await db
        .update(eventDeliveries)
        .set({ ...logged, nextAttemptAtMs })
        .where(eq(eventDeliveries.id, delivery.id));
      return;
    }
    await this.giveUp(delivery, logged);
  }

  /** Retries are exhausted: the delivery fails, and so does its subscription with everything it still had queued. */
  private async giveUp(delivery: DueDelivery, logged: { lastError: string | null }): Promise<void> {
    const { db } = this.deps;
    const reason = `deliveries failed for ${this.config.retryForMs} ms; the last: ${logged.lastError}`;
    await db.batch([
      db
        .update(eventDeliveries)
        .set({ ...logged, status: 'FAILED' })
        .where(eq(eventDeliveries.id, delivery.id)),
      db
        .update(eventSubscriptions)
        .set({ state: 'DISABLED', disabledReason: reason.slice(0, ERROR_TEXT_LIMIT) })
        .where(eq(eventSubscriptions.id, delivery.subscriptionId)),
      db
        .update(eventDeliveries)
        .set({ status: 'FAILED', lastError: 'the subscription is disabled' })
        .where(
          and(
            eq(eventDeliveries.subscriptionId, delivery.subscriptionId),
            inArray(eventDeliveries.status, ['PENDING']),
          ),
        ),
    ]);
    this.log(`event subscription ${delivery.subscriptionId} disabled: ${reason}`);
  }

  private async send(delivery: DueDelivery): Promise<Outcome> {
    const event = JSON.parse(delivery.eventJson) as { time?: string };
    // The body is the same on every attempt; the signed timestamp header is the attempt's.
    const body = JSON.stringify({ type: delivery.eventType, timestamp: event.time, data: event });
    const sentAt = new Date(this.deps.now());
    let signature: string;
    try {
      signature = (await this.signer(delivery)).sign(delivery.eventId, sentAt, body);
    } catch (error) {
      return { ok: false, error: `signing failed: ${String(error)}` };
    }
    try {
      const response = await fetch(delivery.url!, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Berth-Webhooks/1',
          'webhook-id': delivery.eventId,
          'webhook-timestamp': String(Math.floor(sentAt.getTime() / 1000)),
          'webhook-signature': signature,
        },
        body,
        // A redirect is a failure, never followed: the subscription names where events go.
        redirect: 'manual',
        signal: AbortSignal.timeout(this.config.timeoutMs),
      });
      // Only the status matters; the body is not read (a huge answer costs nothing).
      await response.body?.cancel().catch(() => {});
      if (response.status >= 200 && response.status < 300) return { ok: true, status: response.status };
      return { ok: false, status: response.status, error: `HTTP ${response.status}` };
    } catch (error) {
      const timedOut = error instanceof Error && error.name === 'TimeoutError';
      return {
        ok: false,
        error: timedOut ? `no answer within ${this.config.timeoutMs} ms` : String(error),
      };
    }
  }

  private async signer(delivery: DueDelivery): Promise<Webhook> {
    let signer = this.signers.get(delivery.subscriptionId);
    if (!signer) {
      const secret = await openSecret(this.serverKey!, delivery.secretCiphertext!, delivery.subscriptionId);
      signer = new Webhook(secret);
      this.signers.set(delivery.subscriptionId, signer);
    }
    return signer;
  }

  /** Moves the room's deadline to the next retry, or forgets it when nothing is pending. */
  private async armNextRetry(clusterArn: string): Promise<void> {
    const [{ dueAtMs }] = await this.deps.db
      .select({ dueAtMs: min(eventDeliveries.nextAttemptAtMs) })
      .from(eventDeliveries)
      .where(and(eq(eventDeliveries.clusterArn, clusterArn), eq(eventDeliveries.status, 'PENDING')));
    this.somePending = dueAtMs !== null;
    if (dueAtMs === null) await this.deadlines.cancel(EVENT_DELIVERY, DEADLINE_KEY);
    else await this.deadlines.schedule(EVENT_DELIVERY, DEADLINE_KEY, dueAtMs, { persist: true });
  }
}

/** Runs `send` over the items with at most `limit` in flight. */
async function sendAll<T>(items: T[], limit: number, send: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await send(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}
