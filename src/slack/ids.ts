/** action_id and callback_id values: they name the action only; the request id is the button's value. */
export const ACTION = {
  approve: 'billing_approve',
  deny: 'billing_deny',
  retry: 'billing_retry',
  revoke: 'billing_revoke',
  keep: 'billing_keep',
  /** App Home: the viewer ends their own grant (value: the grant's request id). */
  homeDone: 'billing_home_done',
  /** App Home: opens the request modal. */
  homeRequest: 'billing_home_request',
} as const;

export const VIEW = {
  request: 'billing_request_modal',
  deny: 'billing_deny_modal',
  home: 'billing_home',
} as const;

export const FIELD = {
  level: { block: 'level', action: 'level' },
  duration: { block: 'duration', action: 'duration' },
  justification: { block: 'justification', action: 'justification' },
  reason: { block: 'reason', action: 'reason' },
} as const;
