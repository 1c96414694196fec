/**
 * WakeableSleep is a poll interval that a file-watch event or an abort can cut short: watchers
 * call wake, the polling loop awaits sleep. Polling stays as the fallback for missed events.
 */
export class WakeableSleep {
  private wakeCurrent: (() => void) | undefined;

  /** wake ends the sleep in progress, if any. Safe to pass as an event listener. */
  readonly wake = (): void => this.wakeCurrent?.();

  sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wakeCurrent = () => {
        clearTimeout(timer);
        resolve();
      };
    }).finally(() => {
      this.wakeCurrent = undefined;
    });
  }
}
