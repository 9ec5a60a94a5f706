/**
 * The V8 flags the bot runs with: `npm start`, the Docker image, the playground and the
 * benchmark all use these (test/unit/node-flags.test.ts keeps them in step).
 *
 * The bot's live heap stays near 35 MB under load (`npm run bench`, STORE=dynamodb, with
 * BENCH_BOT_NODE_ARGS=--trace-gc; the embedded store's dynalite adds about 8 MB of heap while it
 * pages through a week of 1,000 requests). With V8's defaults, garbage from a burst of requests grows the
 * old space to about 140 MB before a full collection, and peak RSS passes 250 MB. Capping the old
 * space at 128 MB (over three times the live heap) and semi-spaces of 8 MB (half the default)
 * hold the two threads' process near 200 MB at the benchmark's saturation peak. Smaller
 * semi-spaces take more off (4 MB: 185 MB over every phase) but cost the answering thread acks
 * (more objects promoted, more time in GC; README, Performance). These flags apply to both
 * threads: a worker takes V8's flags from the process. To give a larger heap, change them here,
 * in package.json's `start` script and in the Dockerfile's CMD.
 */
export const BOT_NODE_FLAGS: readonly string[] = ['--max-old-space-size=128', '--max-semi-space-size=8'];
