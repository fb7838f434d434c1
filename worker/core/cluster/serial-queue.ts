/**
 * Runs async jobs one at a time, in arrival order. A coordinator puts every write to its cluster
 * through one queue, so placement never races itself; a failing job does not block the next.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(job: () => Promise<T>): Promise<T> {
    const result = this.tail.then(job, job);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
