/**
 * The least a signed Slack body must hold for Bolt to route it without throwing, and for the
 * listeners to read it. Bolt sorts a body by which keys it has (the order of
 * `getTypeAndConversation` in @slack/bolt's helpers) and then reads parts of it unchecked: a
 * block_actions body with `actions: []`, a view_submission without `view`, a `user` or a
 * `channel` of null each throw inside Bolt's routing, which answers 500 and logs an unhandled
 * error. `payloadProblem` sorts a body the same way and names what is missing, so the request
 * guard (src/http-limits.ts) can refuse it with a 400 before Bolt sees it.
 *
 * Only parts that are read are checked, and unknown keys are allowed: Slack adds fields.
 */
import { z } from 'zod';

/** Any object but null (what `'key' in x` and `x.key` need). */
const record = z.record(z.string(), z.unknown());

/** Interactive payloads: Bolt reads `user.id`, and `user.team_id` when `team` is null. */
const user = z.object({ id: z.string(), team_id: z.string().optional() });
const team = z.object({ id: z.string().optional() }).nullable().optional();
const enterprise = record.nullable().optional();
/** Bolt reads `channel.id` whenever `channel` is present. */
const channel = z.object({ id: z.string() }).optional();
/** `respond()` is built from `response_url`, or from `response_urls[0].response_url`. */
const replyUrls = {
  response_url: z.string().optional(),
  response_urls: z.array(z.object({ response_url: z.string() })).optional(),
};
const interactive = { user, team, enterprise, channel, ...replyUrls };

const ACTION_BODY = z.object({
  ...interactive,
  // Bolt takes the first action as the payload its listeners match on `action_id`; the buttons read `value`.
  actions: z
    .array(z.object({ action_id: z.string(), block_id: z.string().optional(), type: z.string().optional(), value: z.string().optional() }))
    .min(1)
    .optional(),
});

/** What a modal's state holds per block and element: a text input's `value` or a select's `selected_option`. */
const stateValues = z.record(
  z.string(),
  z.record(z.string(), z.object({ value: z.string().nullish(), selected_option: z.object({ value: z.string() }).nullish() })),
);
const view = z.object({
  callback_id: z.string(),
  private_metadata: z.string().optional(),
  app_installed_team_id: z.string().optional(),
  state: z.object({ values: stateValues }).optional(),
});
const VIEW_BODY = z.object({ ...interactive, view });
/** A submission's listener reads `view.state.values`: Slack always sends it, maybe empty. */
const VIEW_SUBMISSION_BODY = z.object({ ...interactive, view: view.extend({ state: z.object({ values: stateValues }) }) });

const SHORTCUT_BODY = z.object(interactive);
const OPTIONS_BODY = z.object(interactive);

/**
 * Form fields of a slash command: the handler reads each as a string (a repeated field is an
 * array), and replies through `respond()`, which Bolt builds only from a `response_url`.
 */
const COMMAND_BODY = z.object({
  command: z.string(),
  text: z.string(),
  user_id: z.string(),
  channel_id: z.string(),
  team_id: z.string(),
  trigger_id: z.string().optional(),
  response_url: z.string(),
});

/** Bolt looks into `event.user`, `event.channel`, `event.item` and `event.subteam` with `in` and `.`. */
const EVENT_BODY = z.object({
  event: z.object({
    type: z.string(),
    user: z.union([z.string(), record]).optional(),
    channel: z.union([z.string(), record]).optional(),
    item: record.optional(),
    subteam: record.optional(),
  }),
  authorizations: z.array(record).optional(),
  ...replyUrls,
});

interface Route {
  kind: string;
  schema: z.ZodType;
}

/** Bolt's sorting of a body, in Bolt's order; undefined for a body Bolt cannot route. */
function routeOf(body: Record<string, unknown>): Route | undefined {
  if (body.event !== undefined) return { kind: 'event', schema: EVENT_BODY };
  if (body.command !== undefined) return { kind: 'slash command', schema: COMMAND_BODY };
  if (body.name !== undefined || body.type === 'block_suggestion') return { kind: 'options request', schema: OPTIONS_BODY };
  if (body.actions !== undefined || body.type === 'dialog_submission') return { kind: 'action', schema: ACTION_BODY };
  if (body.type === 'shortcut' || body.type === 'message_action') return { kind: 'shortcut', schema: SHORTCUT_BODY };
  if (body.type === 'view_submission') return { kind: 'view submission', schema: VIEW_SUBMISSION_BODY };
  if (body.type === 'view_closed') return { kind: 'view closed', schema: VIEW_BODY };
  return undefined;
}

/**
 * Why Bolt could not route this parsed body, in a short sentence that quotes nothing from it;
 * undefined when it can. Slack's own checks (`ssl_check`, `url_verification`) pass as they are.
 */
export function payloadProblem(body: object): string | undefined {
  const fields = body as Record<string, unknown>;
  if (fields.ssl_check === '1' || fields.type === 'url_verification') return undefined;
  const route = routeOf(fields);
  if (!route) return 'Not a Slack payload this app can route.';
  const result = route.schema.safeParse(body);
  if (result.success) return undefined;
  // The first key of the path is one the schema names (unknown keys are never an issue), so nothing of the body is echoed.
  const [part] = result.error.issues[0]?.path ?? [];
  return typeof part === 'string' ? `Malformed ${route.kind} payload: "${part}" is missing or not of the expected shape.` : `Malformed ${route.kind} payload.`;
}
