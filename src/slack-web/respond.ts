import type { Respond } from '../../handlers/deps.js';

/** How long a response_url post may take (Bolt's respond() sets no limit). */
const RESPOND_TIMEOUT_MS = 10_000;

/**
 * A reply through a request's response_url, as Bolt's respond() sends it: the message as JSON,
 * and an error when Slack does not take it (an expired response_url, a rate limit).
 */
export const respondViaUrl: Respond = async (responseUrl, message) => {
  const response = await fetch(responseUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(message),
    signal: AbortSignal.timeout(RESPOND_TIMEOUT_MS),
  });
  await response.arrayBuffer();
  if (!response.ok) throw new Error(`Failed to respond to the response_url: ${response.status} ${response.statusText}`);
};
