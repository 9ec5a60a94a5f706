/**
 * Block Kit validation, pure: what Slack would refuse in a message's blocks or a view (types,
 * lengths, counts), as the stand-in checks every message the bot sends.
 */

const BLOCK_TYPES = new Set(['section', 'header', 'context', 'divider', 'actions', 'input', 'rich_text', 'image']);

const ELEMENT_TYPES = new Set([
  'button',
  'checkboxes',
  'channels_select',
  'conversations_select',
  'datepicker',
  'datetimepicker',
  'email_text_input',
  'external_select',
  'file_input',
  'image',
  'multi_channels_select',
  'multi_conversations_select',
  'multi_external_select',
  'multi_static_select',
  'multi_users_select',
  'number_input',
  'overflow',
  'plain_text_input',
  'radio_buttons',
  'rich_text_input',
  'static_select',
  'timepicker',
  'url_text_input',
  'users_select',
  'workflow_button',
]);

class BlockError extends Error {}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fail(path: string, problem: string): never {
  throw new BlockError(`${problem} [json-pointer:${path}]`);
}

function checkString(value: unknown, path: string, max: number, { required = false, min = 0 } = {}): void {
  if (value === undefined) {
    if (required) fail(path, 'missing required field');
    return;
  }
  if (typeof value !== 'string') fail(path, 'must be a string');
  if (value.length < min) fail(path, `must be at least ${min} characters`);
  if (value.length > max) fail(path, `must be at most ${max} characters (got ${value.length})`);
}

function checkText(value: unknown, path: string, max: number, { plainOnly = false, required = true }: { plainOnly?: boolean; required?: boolean } = {}): void {
  if (value === undefined) {
    if (required) fail(path, 'missing required field');
    return;
  }
  if (!isObject(value)) fail(path, 'must be a text object');
  if (value.type !== 'plain_text' && value.type !== 'mrkdwn') fail(`${path}/type`, 'must be plain_text or mrkdwn');
  if (plainOnly && value.type !== 'plain_text') fail(`${path}/type`, 'must be plain_text');
  checkString(value.text, `${path}/text`, max, { required: true, min: 1 });
}

function checkArray(value: unknown, path: string, min: number, max: number): unknown[] {
  if (!Array.isArray(value)) fail(path, 'must be an array');
  if (value.length < min) fail(path, `must contain at least ${min} items`);
  if (value.length > max) fail(path, `must contain at most ${max} items (got ${value.length})`);
  return value;
}

function checkConfirm(value: unknown, path: string): void {
  if (value === undefined) return;
  if (!isObject(value)) fail(path, 'must be a confirmation object');
  checkText(value.title, `${path}/title`, 100, { plainOnly: true });
  checkText(value.text, `${path}/text`, 300);
  checkText(value.confirm, `${path}/confirm`, 30, { plainOnly: true });
  checkText(value.deny, `${path}/deny`, 30, { plainOnly: true });
}

function checkOptions(value: unknown, path: string, max: number): void {
  const options = checkArray(value, path, 1, max);
  options.forEach((option, i) => {
    const at = `${path}/${i}`;
    if (!isObject(option)) fail(at, 'must be an option object');
    checkText(option.text, `${at}/text`, 75);
    checkString(option.value, `${at}/value`, 150, { required: true });
  });
}

function checkElement(element: unknown, path: string): void {
  if (!isObject(element)) fail(path, 'must be an element object');
  const type = element.type;
  if (typeof type !== 'string' || !ELEMENT_TYPES.has(type)) fail(`${path}/type`, `unsupported element type ${String(type)}`);
  checkString(element.action_id, `${path}/action_id`, 255);
  checkConfirm(element.confirm, `${path}/confirm`);
  switch (type) {
    case 'button':
      checkText(element.text, `${path}/text`, 75, { plainOnly: true });
      checkString(element.value, `${path}/value`, 2000);
      checkString(element.url, `${path}/url`, 3000);
      if (element.style !== undefined && element.style !== 'primary' && element.style !== 'danger') {
        fail(`${path}/style`, 'must be primary or danger');
      }
      break;
    case 'static_select':
    case 'multi_static_select':
      checkText(element.placeholder, `${path}/placeholder`, 150, { plainOnly: true, required: false });
      if (element.options === undefined && element.option_groups === undefined) fail(`${path}/options`, 'missing required field');
      if (element.options !== undefined) checkOptions(element.options, `${path}/options`, 100);
      break;
    case 'overflow':
      checkOptions(element.options, `${path}/options`, 5);
      break;
    case 'plain_text_input':
      checkText(element.placeholder, `${path}/placeholder`, 150, { plainOnly: true, required: false });
      if (typeof element.max_length === 'number' && element.max_length > 3000) fail(`${path}/max_length`, 'must be at most 3000');
      break;
    case 'image':
      checkString(element.alt_text, `${path}/alt_text`, 2000, { required: true });
      break;
    default:
      break;
  }
}

function checkBlock(block: unknown, path: string): void {
  if (!isObject(block)) fail(path, 'must be a block object');
  const type = block.type;
  if (typeof type !== 'string' || !BLOCK_TYPES.has(type)) fail(`${path}/type`, `unsupported block type ${String(type)}`);
  switch (type) {
    case 'section': {
      if (block.text === undefined && block.fields === undefined) fail(path, 'section needs text or fields');
      checkText(block.text, `${path}/text`, 3000, { required: false });
      if (block.fields !== undefined) {
        const fields = checkArray(block.fields, `${path}/fields`, 1, 10);
        fields.forEach((field, i) => {
          checkText(field, `${path}/fields/${i}`, 2000);
        });
      }
      if (block.accessory !== undefined) checkElement(block.accessory, `${path}/accessory`);
      break;
    }
    case 'header':
      checkText(block.text, `${path}/text`, 150, { plainOnly: true });
      break;
    case 'context': {
      const elements = checkArray(block.elements, `${path}/elements`, 1, 10);
      elements.forEach((element, i) => {
        const at = `${path}/elements/${i}`;
        if (isObject(element) && element.type === 'image') checkElement(element, at);
        else checkText(element, at, 3000);
      });
      break;
    }
    case 'actions': {
      const elements = checkArray(block.elements, `${path}/elements`, 1, 25);
      const actionIds = new Set<string>();
      elements.forEach((element, i) => {
        const at = `${path}/elements/${i}`;
        checkElement(element, at);
        const actionId = (element as Record<string, unknown>).action_id;
        if (typeof actionId === 'string') {
          if (actionIds.has(actionId)) fail(`${at}/action_id`, `duplicate action_id ${actionId}`);
          actionIds.add(actionId);
        }
      });
      break;
    }
    case 'input':
      checkText(block.label, `${path}/label`, 2000, { plainOnly: true });
      checkText(block.hint, `${path}/hint`, 2000, { plainOnly: true, required: false });
      if (block.element === undefined) fail(`${path}/element`, 'missing required field');
      checkElement(block.element, `${path}/element`);
      break;
    case 'image':
      if (block.image_url === undefined && block.slack_file === undefined) fail(`${path}/image_url`, 'missing required field');
      checkString(block.image_url, `${path}/image_url`, 3000);
      checkString(block.alt_text, `${path}/alt_text`, 2000, { required: true });
      checkText(block.title, `${path}/title`, 2000, { plainOnly: true, required: false });
      break;
    case 'rich_text':
      checkArray(block.elements, `${path}/elements`, 0, Number.POSITIVE_INFINITY);
      break;
    default:
      break;
  }
}

/**
 * Checks an array of Block Kit blocks against the limits Slack enforces.
 * Returns null when the blocks are acceptable, otherwise a description of the first problem
 * (in Slack's style, ending with a json-pointer).
 */
export function validateBlocks(blocks: unknown, opts: { maxBlocks?: number; pointer?: string } = {}): string | null {
  const maxBlocks = opts.maxBlocks ?? 50;
  const root = opts.pointer ?? '/blocks';
  try {
    const list = checkArray(blocks, root, 0, maxBlocks);
    const blockIds = new Set<string>();
    list.forEach((block, i) => {
      const path = `${root}/${i}`;
      checkBlock(block, path);
      const blockId = (block as Record<string, unknown>).block_id;
      if (blockId !== undefined) {
        checkString(blockId, `${path}/block_id`, 255, { min: 1 });
        if (blockIds.has(blockId as string)) fail(`${path}/block_id`, `duplicate block_id ${String(blockId)}`);
        blockIds.add(blockId as string);
      }
    });
    return null;
  } catch (err) {
    if (err instanceof BlockError) return err.message;
    throw err;
  }
}

/**
 * Checks a view object: a modal (views.open / views.update) or, with `kind` 'home', a Home tab
 * (views.publish). Returns null when acceptable.
 */
export function validateView(view: unknown, kind: 'modal' | 'home' = 'modal'): string | null {
  try {
    if (!isObject(view)) fail('/view', 'must be a view object');
    if (kind === 'home') {
      if (view.type !== 'home') fail('/view/type', 'must be home');
      checkString(view.callback_id, '/view/callback_id', 255);
      checkString(view.private_metadata, '/view/private_metadata', 3000);
      checkString(view.external_id, '/view/external_id', 255);
      return validateBlocks(view.blocks, { maxBlocks: 100, pointer: '/view/blocks' });
    }
    if (view.type !== 'modal') fail('/view/type', 'must be modal');
    checkText(view.title, '/view/title', 24, { plainOnly: true });
    checkText(view.submit, '/view/submit', 24, { plainOnly: true, required: false });
    checkText(view.close, '/view/close', 24, { plainOnly: true, required: false });
    checkString(view.callback_id, '/view/callback_id', 255);
    checkString(view.private_metadata, '/view/private_metadata', 3000);
    checkString(view.external_id, '/view/external_id', 255);
    const blockProblem = validateBlocks(view.blocks, { maxBlocks: 100, pointer: '/view/blocks' });
    if (blockProblem) return blockProblem;
    const hasInput = (view.blocks as unknown[]).some((b) => isObject(b) && b.type === 'input');
    if (hasInput && view.submit === undefined) fail('/view/submit', 'submit is required when the view has input blocks');
    return null;
  } catch (err) {
    if (err instanceof BlockError) return err.message;
    throw err;
  }
}
