/**
 * The agent's state file, `<state-dir>/state.json` (mode 0600: it holds the instance credential):
 * its identity and, per task, the last command it
 * accepted (generation, desired status, spec), the last report it made (seq, observed state).
 *
 * Every write is atomic (temp file, fsync, rename, fsync of the directory), so a crash leaves either
 * the old file or the new one. Writes are serialised and coalesced: `save()` resolves once a write
 * that includes every change made before the call is on disk, and every call made while a write is
 * in flight shares the one write that follows it, so a burst of changes costs two writes, not one each.
 */
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { desiredTaskSchema, observedTaskSchema } from '../../protocol/task-frames';

const STATE_FORMAT_VERSION = 1;

export const persistedTaskSchema = z.object({
  taskArn: z.string(),
  /** The newest generation of any command accepted for this task (the fence for late commands). */
  generation: z.number().int().nonnegative(),
  desiredStatus: z.enum(['RUNNING', 'STOPPED']),
  /** Absent only for a task found from container labels alone, until the control plane sends its spec. */
  spec: desiredTaskSchema.optional(),
  stopReason: z.string().optional(),
  /** The seq of the last report made about this task (reports keep increasing across restarts). */
  seq: z.number().int().nonnegative(),
  observed: observedTaskSchema,
  /** When a welcome no longer listed this stopped task: the control plane has recorded it as STOPPED. */
  confirmedStoppedAtMs: z.number().optional(),
});
export type PersistedTask = z.infer<typeof persistedTaskSchema>;

const stateFileSchema = z.object({
  formatVersion: z.literal(STATE_FORMAT_VERSION),
  cluster: z.string(),
  instanceId: z.string().optional(),
  containerInstanceArn: z.string().optional(),
  /** The secret the control plane issued at registration; proves this host is `instanceId` on every connect. */
  instanceCredential: z.string().optional(),
  tasks: z.array(persistedTaskSchema),
});
export type AgentState = z.infer<typeof stateFileSchema>;

export const STATE_FILE_NAME = 'state.json';

async function writeAtomically(dir: string, fileName: string, text: string): Promise<void> {
  const target = join(dir, fileName);
  const temporary = join(dir, `.${fileName}.${process.pid}.tmp`);
  const file = await open(temporary, 'w', 0o600);
  try {
    await file.writeFile(text);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temporary, target);
  // The rename itself is only durable once the directory entry is flushed.
  const directory = await open(dir, 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}

export class StateStore {
  /** The write on disk now, if any. */
  private writing: Promise<void> | undefined;
  /** The write that follows it, shared by every `save()` made meanwhile; it serialises the state when it begins. */
  private queued: Promise<void> | undefined;
  private writeCount = 0;

  private constructor(
    readonly dir: string,
    readonly state: AgentState,
  ) {}

  /** Loads the state file, or starts an empty one. A file from another cluster is refused, not overwritten. */
  static async open(dir: string, cluster: string): Promise<StateStore> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, STATE_FILE_NAME);
    let text: string | undefined;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    if (text === undefined) {
      return new StateStore(dir, { formatVersion: STATE_FORMAT_VERSION, cluster, tasks: [] });
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new Error(
        `agent: state file ${path} is not valid JSON; move it away to start with a fresh identity`,
      );
    }
    const parsed = stateFileSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(`agent: state file ${path} is invalid at ${issue?.path.join('.')}: ${issue?.message}`);
    }
    if (parsed.data.cluster !== cluster) {
      throw new Error(
        `agent: state dir ${dir} belongs to cluster '${parsed.data.cluster}', not '${cluster}'; use another --state-dir`,
      );
    }
    return new StateStore(dir, parsed.data);
  }

  /** How many times the file was written (what coalescing saves shows in tests). */
  get writes(): number {
    return this.writeCount;
  }

  /** Writes the current state; resolves when a write including every change made so far is durable. */
  save(): Promise<void> {
    // A write that has not begun yet will include this caller's changes: share it.
    if (this.queued) return this.queued;
    const queued = (this.writing ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        const write = this.write();
        this.writing = write;
        void write
          .finally(() => {
            if (this.writing === write) this.writing = undefined;
          })
          .catch(() => undefined);
        return write;
      });
    this.queued = queued;
    return queued;
  }

  private async write(): Promise<void> {
    this.writeCount++;
    await writeAtomically(this.dir, STATE_FILE_NAME, `${JSON.stringify(this.state, null, 2)}\n`);
  }
}
