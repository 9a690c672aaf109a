import type { Logger } from '../logger.ts';
import type { MembersService } from './members.service.ts';

/**
 * Applies due exits in the background (MembersService.applyDueExits): once at start and then
 * every minute, so a member whose last day has passed is a former member within a minute of
 * midnight (Europe/Berlin). Page reads never write: this timer (and the CLI) are the only
 * callers. A tick when nothing is due costs one index look-up; several processes may run it
 * at once (the conditional update changes a row once).
 */
export class DueExitsTimer {
  private timer?: NodeJS.Timeout;
  private running = false;
  constructor(private members: Pick<MembersService, 'applyDueExits'>, private log: Logger, private intervalMs = 60_000) {}

  start(): void {
    void this.tick();
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  /** One run; returns how many members became former members. */
  async tick(): Promise<number> {
    if (this.running) return 0;
    this.running = true;
    try {
      return await this.members.applyDueExits();
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'applying due exits failed'); // why: errors thrown here are Errors (knex, ours)
      return 0;
    } finally {
      this.running = false;
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
