/**
 * What the mixed-load generator (bench/mixed-load.ts, a process of its own) is asked to do and
 * what it answers: kinds of signed Slack requests sent together, each at a fixed rate or as fast
 * as its connections allow, with a record of every request.
 */

/**
 * In a body, replaced by the number of times the kind's bodies were gone through before this
 * one was sent (0 on the first pass): a kind that cycles its bodies gives each pass its own
 * response_url. Letters only, so it survives URL encoding (twice, in a response_url) unchanged.
 */
export const PASS_MARK = 'ZPASSZ';

export interface KindSpec {
  kind: string;
  /** Unsigned bodies, sent in order and cycled through when the run needs more. */
  bodies: string[];
  /** Requests per second, on a fixed schedule; absent: as fast as `connections` allow. */
  rate?: number;
  /** With `rate`: where in the first interval this kind's schedule starts (ms), so kinds take turns. */
  offsetMs?: number;
  /** Closed loop: this many connections, each sending its next request when the last is answered. Fixed rate: the kind's sockets at most. */
  connections: number;
}

export interface MixedSpec {
  url: string;
  signingSecret: string;
  seconds: number;
  kinds: KindSpec[];
  /** Fixed-rate kinds share one pool of keep-alive sockets of this size (each closed-loop kind has its own). */
  sharedConnections: number;
  /** Sent first through the same sockets, as fast as they allow, and not measured: opens the connections and warms both sides. */
  warmup?: { seconds: number; bodies: string[] };
}

export interface Latency {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export interface KindResult {
  sent: number;
  ok2xx: number;
  statusCounts: Record<string, number>;
  /** Requests answered by no HTTP status (connection error, or no answer within 10 s). */
  errors: number;
  /** ms, from handing the request to the connection pool (a wait for a free connection counts) to the end of the answer; 2xx only. */
  latency: Latency;
  /** Fixed rate only: how late the generator itself sent, against the schedule (ms): its own delays, not the server's. */
  sendLag: Latency | null;
  /** 2xx answers per second, from the first request sent to the last answer. */
  rps: number;
  /** Times the kind went through its bodies (more than 1: some were sent again, on a new pass). */
  passes: number;
}

/**
 * One request: [kind index, body index (across passes), sent at (ms since the epoch), latency ms,
 * HTTP status or 0, 1 when the answer's body refused it as busy (a command's ack says so) else 0].
 */
export type RequestRecord = [number, number, number, number, number, number];

export interface MixedResult {
  kinds: Record<string, KindResult>;
  /** When the first measured request was sent, when the schedule ended, and when the last answer came (ms since the epoch). */
  startedAt: number;
  sendingEndedAt: number;
  endedAt: number;
  records: RequestRecord[];
}
