/**
 * The per-person limit on slash commands (`COMMAND_RATE_PER_MINUTE`), checked before the ack:
 * one person cannot flood the work queue that everyone's requests and decisions share.
 */
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

export type CommandRateAnswer = { allowed: true } | { allowed: false; retryInSeconds: number };

export class CommandRateLimit {
  private readonly limiter: RateLimiterMemory | undefined;

  /** `perMinute` 0 turns the limit off. */
  constructor(readonly perMinute: number) {
    this.limiter = perMinute > 0 ? new RateLimiterMemory({ points: perMinute, duration: 60 }) : undefined;
  }

  /** Counts one command of this person against their minute. */
  async take(teamId: string, userId: string): Promise<CommandRateAnswer> {
    if (!this.limiter) return { allowed: true };
    try {
      await this.limiter.consume(`${teamId}:${userId}`);
      return { allowed: true };
    } catch (res) {
      if (res instanceof RateLimiterRes) return { allowed: false, retryInSeconds: Math.max(1, Math.ceil(res.msBeforeNext / 1000)) };
      throw res;
    }
  }
}
