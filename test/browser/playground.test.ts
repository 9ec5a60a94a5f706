/**
 * The playground page in a real browser: Debian's Chromium driven by playwright-core, against a
 * fresh playground (the real bot as a child process, the Slack and IAM stand-ins, the page) for
 * each test. Everything is done through the page as a person would: pick who you are, type the
 * command, click the buttons, fill the modals, widen a group. What IAM holds is read back from
 * the IAM stand-in. If Chromium is missing these tests fail with the install hint.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CHROMIUM_HINT, launchChromium } from '../../playground/browser.js';
import { type Playground, startPlayground } from '../../playground/main.js';
import { ADMIN_CHANNEL, GENERAL_CHANNEL, HAND_ADDED_MEMBER, WIDENING_POLICY_ARN } from '../../playground/workspace.js';

const JANE = 'U0JANE';
const ALICE = 'U0ALICE';
const BOB = 'U0BOB';
/** The seeded person whose IAM user has no MFA device. */
const NOAH = 'U0NOAH';
const DM = (user: string) => `D${user}`;
/** Upper bound for anything the page waits on: the bot works off the ack path, so a few hundred ms is typical. */
const WAIT_MS = 10_000;
/** A scenario, or starting a playground (up to 30 s for the bot's health check), on a busy machine. */
const SCENARIO_MS = 60_000;

let browser: Browser | undefined;
let launchError: unknown;
let playground: Playground | undefined;
/** The next test's playground, started while the current test runs: each test gets a fresh one. */
let spare: Promise<Playground> | undefined;
const contexts: BrowserContext[] = [];
const pageErrors: string[] = [];

/** The browser, or this test fails with the reason (the install hint when Chromium is missing). */
function requireBrowser(): Browser {
  if (browser) return browser;
  const reason = launchError instanceof Error ? launchError.message : String(launchError);
  throw new Error(reason.includes(CHROMIUM_HINT) ? CHROMIUM_HINT : `Chromium did not start: ${reason}\n${CHROMIUM_HINT}`);
}

/** A playground as a newcomer runs it: IAM live against the IAM stand-in, the embedded store in a temporary directory. */
async function freshPlayground(): Promise<Playground> {
  const dataDir = await mkdtemp(join(tmpdir(), 'playground-browser-'));
  // The suite's setup points AWS_* at moto for the integration tests; keep them from the bot here.
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('AWS_')));
  try {
    return await startPlayground({ dataDir, quiet: true, env });
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
}

async function dispose(p: Playground | undefined): Promise<void> {
  if (!p) return;
  await p.stop();
  await rm(p.dataDir, { recursive: true, force: true });
}

beforeAll(async () => {
  try {
    browser = await launchChromium();
  } catch (err) {
    launchError = err;
  }
}, SCENARIO_MS);

afterAll(async () => {
  await dispose(await spare?.catch(() => undefined));
  await browser?.close();
}, SCENARIO_MS);

beforeEach(async ({ task }) => {
  requireBrowser();
  playground = await (spare ?? freshPlayground());
  spare = undefined;
  const toRun = (task.suite?.tasks ?? []).filter((t) => t.mode !== 'skip' && t.mode !== 'todo');
  if (toRun.indexOf(task) < toRun.length - 1) {
    spare = freshPlayground();
    // Failures surface when the next test takes it; until then this only marks the rejection handled.
    spare.catch(() => undefined);
  }
  pageErrors.length = 0;
}, SCENARIO_MS);

afterEach(async () => {
  await Promise.all(contexts.splice(0).map((c) => c.close()));
  await dispose(playground);
  playground = undefined;
  expect(pageErrors, 'errors in the page').toEqual([]);
}, SCENARIO_MS);

/** A new browser window (its own storage) on the playground page. */
async function openPage(): Promise<Page> {
  const context = await requireBrowser().newContext({ viewport: { width: 1280, height: 900 } });
  contexts.push(context);
  context.setDefaultTimeout(WAIT_MS);
  const page = await context.newPage();
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error') pageErrors.push(msg.text());
  });
  page.on('dialog', (dialog) => {
    pageErrors.push(`unexpected dialog: ${dialog.message()}`);
    void dialog.dismiss();
  });
  await page.goto(playground?.url ?? '');
  await page.locator('body[data-me]').waitFor();
  return page;
}

/** Picks who you are in the page, and waits until the page shows that person's view. */
async function actAs(page: Page, user: string): Promise<void> {
  await page.selectOption('#person', user);
  await page.locator(`body[data-me="${user}"]`).waitFor();
}

async function openChannel(page: Page, channel: string): Promise<void> {
  await page.click(`#channels .channel[data-channel="${channel}"]`);
  await page.locator(`#channels .channel.active[data-channel="${channel}"]`).waitFor();
}

/** Types in the message box and sends, as in Slack. */
async function type(page: Page, text: string): Promise<void> {
  await page.fill('#command', text);
  await page.press('#command', 'Enter');
}

/** Top-level messages in the open channel that contain all these texts. */
function message(page: Page, ...texts: string[]): Locator {
  return texts.reduce((l, text) => l.filter({ hasText: text }), page.locator('#messages > article.message'));
}

function ephemeral(page: Page, text: string): Locator {
  return page.locator('#ephemerals article.message.ephemeral', { hasText: text });
}

async function gone(locator: Locator): Promise<void> {
  await locator.first().waitFor({ state: 'detached' });
  expect(await locator.count()).toBe(0);
}

/** Jane types a request for read-only access and sees the bot's ephemeral confirmation. */
async function requestAsJane(page: Page, justification: string): Promise<void> {
  await actAs(page, JANE);
  await openChannel(page, ADMIN_CHANNEL);
  await type(page, `/request-billing read-only 7d ${justification}`);
  await ephemeral(page, 'is sent to the admins').waitFor();
}

/** Jane, in the channel she lands in, requests read-only access and sees the bot's confirmation. */
async function janeRequestsWhereSheLands(page: Page): Promise<void> {
  await actAs(page, JANE);
  await type(page, '/request-billing read-only 7d month-end close for October');
  await ephemeral(page, 'is sent to the admins').waitFor();
}

/**
 * …and Alice approves it in the admin channel, until the IAM stand-in holds Jane in the group and
 * the grant is recorded ACTIVE (the admin message offers Revoke): the IAM call comes before that write.
 */
async function janeGrantedReadOnly(page: Page): Promise<void> {
  await janeRequestsWhereSheLands(page);
  await actAs(page, ALICE);
  const request = message(page, 'Billing access request', '@Jane Doe');
  await request.locator('button.bk-button[data-label="Approve"]').click();
  await untilMember('BillingReadOnly', 'jane.doe', true);
  await request.locator('button.bk-button[data-label="Revoke"]').waitFor();
}

const modal = (page: Page) => page.locator('#modal:not([hidden]) .modal-card');

/** The IAM users in a group, as the IAM stand-in holds them (what AWS would answer). */
function iamMembers(groupName: string): string[] {
  const iam = playground?.iam;
  if (!iam) throw new Error('this test needs the playground’s IAM stand-in');
  return iam.account
    .group(groupName)
    .members.map((m) => m.userName)
    .sort();
}

/** Waits until the IAM stand-in's group holds (or no longer holds) a user: the bot's IAM call runs after the click's ack. */
async function untilMember(groupName: string, userName: string, member: boolean): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (iamMembers(groupName).includes(userName) !== member) {
    if (Date.now() > deadline) throw new Error(`${userName} is ${member ? 'not yet' : 'still'} in ${groupName}: ${iamMembers(groupName).join(', ')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Opens the bot's Home tab from the sidebar and waits for the Home the bot publishes. */
async function openHome(page: Page): Promise<Locator> {
  await page.click('#channels .channel[data-channel="home"]');
  await page.locator('#channels .channel.active[data-channel="home"]').waitFor();
  const view = page.locator('#home:not([hidden]) .home-view');
  await view.locator('.bk-header', { hasText: 'Your billing access' }).waitFor();
  return view;
}

/** A section of the Home (a grant, a request) holding all these texts. */
function homeSection(home: Locator, ...texts: string[]): Locator {
  return texts.reduce((l, text) => l.filter({ hasText: text }), home.locator('.bk-section'));
}

/** The sidebar's AWS IAM panel entry for a group. */
const iamGroup = (page: Page, groupName: string) => page.locator(`#iam .iam-group[data-group="${groupName}"]`);

describe('playground page in Chromium', { timeout: SCENARIO_MS }, () => {
  it('an employee requests with text, an admin approves: the message updates in place and the DM shows the approval', async () => {
    const page = await openPage();
    await requestAsJane(page, 'month-end close for October');

    await actAs(page, ALICE);
    const request = message(page, 'Billing access request', '@Jane Doe');
    await request.waitFor();
    expect(await request.count()).toBe(1);
    // Jane's confirmation was for her only.
    expect(await ephemeral(page, 'is sent to the admins').count()).toBe(0);
    await expect(request.innerText()).resolves.toContain('month-end close for October');
    await request.locator('button.bk-button[data-label="Approve"]').click();

    const approved = message(page, 'Approved by @Alice Admin');
    await approved.waitFor();
    // In place: still the one request message, now edited, with Revoke instead of Approve and Deny.
    expect(await message(page, 'Billing access request').count()).toBe(1);
    await approved.locator('.edited').waitFor();
    await gone(approved.locator('button[data-label="Approve"]'));
    expect(await approved.locator('button[data-label="Deny"]').count()).toBe(0);
    await approved.locator('button.bk-button[data-label="Revoke"]').waitFor();
    // Live IAM against the stand-in: the grant really made Jane a member, and the sidebar shows it.
    await untilMember('BillingReadOnly', 'jane.doe', true);
    await iamGroup(page, 'BillingReadOnly').locator('.iam-member', { hasText: 'jane.doe' }).waitFor();

    await actAs(page, JANE);
    await openChannel(page, DM(JANE));
    await expect(page.locator('#channel-title').innerText()).resolves.toBe('Billing bot (DM)');
    await message(page, 'is approved by @Alice Admin').waitFor();
  });

  it('an employee requests with the modal: a too-short justification shows the bot’s error on that field, then a valid one is sent', async () => {
    const page = await openPage();
    await actAs(page, JANE);
    await openChannel(page, ADMIN_CHANNEL);
    await type(page, '/request-billing');

    const form = modal(page);
    await form.locator('h2', { hasText: 'Billing access' }).waitFor();
    // Plain, even though dry-run would be marked on every message.
    await expect(form.locator('h2').innerText()).resolves.toBe('Billing access');
    await expect(form.getByLabel('Access level').inputValue()).resolves.toBe('read-only');
    await expect(form.getByLabel('Duration').inputValue()).resolves.toMatch(/^\d+$/);
    const justification = form.getByLabel('Justification');
    await justification.fill('short');
    await form.locator('button.submit').click();

    const error = form.locator('.field[data-field="justification"] .field-error');
    await error.waitFor();
    await expect(error.innerText()).resolves.toMatch(/10/);
    expect(await form.locator('.field-error').count()).toBe(1);
    await expect(justification.getAttribute('aria-invalid')).resolves.toBe('true');
    // What was typed is still there, as in Slack.
    await expect(justification.inputValue()).resolves.toBe('short');

    await justification.fill('Reviewing the October invoice with finance');
    await form.locator('button.submit').click();
    await page.locator('#modal').waitFor({ state: 'hidden' });

    await openChannel(page, DM(JANE));
    await message(page, 'is sent to the admins').waitFor();
    await openChannel(page, ADMIN_CHANNEL);
    await message(page, 'Billing access request', 'Reviewing the October invoice with finance').waitFor();
  });

  it('an admin denies with a reason and the employee’s DM shows it', async () => {
    const page = await openPage();
    await requestAsJane(page, 'need the cost explorer for a budget review');

    await actAs(page, ALICE);
    await message(page, 'Billing access request', '@Jane Doe').locator('button.bk-button[data-label="Deny"]').click();
    const form = modal(page);
    await form.locator('h2', { hasText: 'Deny request' }).waitFor();
    await form.getByLabel(/Reason/).fill('Use the shared finance dashboard instead');
    await form.locator('button.submit', { hasText: 'Deny' }).click();
    await page.locator('#modal').waitFor({ state: 'hidden' });

    const denied = message(page, 'Denied by @Alice Admin');
    await denied.waitFor();
    await expect(denied.innerText()).resolves.toContain('Use the shared finance dashboard instead');
    await gone(denied.locator('button.bk-button'));

    await actAs(page, JANE);
    await openChannel(page, DM(JANE));
    await message(page, 'Use the shared finance dashboard instead').waitFor();
  });

  it('a justification with <script> and <!channel> is shown as literal text, not markup', async () => {
    const page = await openPage();
    const script = '<script>window.__pwned=1</script>';
    const img = '<img src=x onerror="window.__pwned=2">';
    await requestAsJane(page, `audit ${script} ${img} <!channel> & co`);

    await actAs(page, ALICE);
    const request = message(page, 'Billing access request', '@Jane Doe');
    await request.waitFor();
    const shown = await request.innerText();
    expect(shown).toContain(script);
    expect(shown).toContain(img);
    expect(shown).toContain('<!channel> & co');
    await request.getByText(script).waitFor({ state: 'visible' });
    expect(await page.evaluate(() => (globalThis as { __pwned?: unknown }).__pwned)).toBeUndefined();
    expect(await page.locator('#messages script, #messages img').count()).toBe(0);
    expect(await request.locator('.mention', { hasText: '@channel' }).count()).toBe(0);
  });

  it('a non-admin clicking Approve is refused with an ephemeral only she sees', async () => {
    const page = await openPage();
    await actAs(page, BOB);
    await openChannel(page, ADMIN_CHANNEL);
    await type(page, '/request-billing read-only 7d checking the reserved instance spend');
    await ephemeral(page, 'is sent to the admins').waitFor();

    await actAs(page, JANE);
    await openChannel(page, ADMIN_CHANNEL);
    const request = message(page, 'Billing access request', '@Bob Admin');
    await request.locator('button.bk-button[data-label="Approve"]').click();
    const refusal = page.locator('#messages article.message.ephemeral', { hasText: 'Only billing admins can decide on requests.' });
    await refusal.waitFor();
    await expect(refusal.innerText()).resolves.toContain('Only visible to you');
    // Still pending: nothing was decided.
    await request.locator('button[data-label="Approve"]').waitFor();
    expect(await message(page, 'Approved by').count()).toBe(0);

    for (const other of [ALICE, BOB]) {
      await actAs(page, other);
      await message(page, 'Billing access request', '@Bob Admin').waitFor();
      expect(await page.getByText('Only billing admins can decide on requests.').count()).toBe(0);
    }
    await actAs(page, JANE);
    await refusal.waitFor();
  });

  it('ephemeral replies are visible only to the person they are for', async () => {
    const page = await openPage();
    await actAs(page, JANE);
    await openChannel(page, ADMIN_CHANNEL);
    await type(page, '/request-billing help');
    const help = page.locator('#ephemerals article.message.ephemeral', { hasText: '/request-billing' });
    await help.waitFor();
    await expect(help.innerText()).resolves.toContain('Only visible to you');

    await actAs(page, ALICE);
    expect(await page.locator('#ephemerals article').count()).toBe(0);
    expect(await page.getByText('Only visible to you').count()).toBe(0);

    await actAs(page, JANE);
    await help.waitFor();
    // And not to another window where Alice is signed in either.
    const alice = await openPage();
    await actAs(alice, ALICE);
    await openChannel(alice, ADMIN_CHANNEL);
    expect(await alice.locator('#ephemerals article').count()).toBe(0);
  });

  it('"Run summary now" as an admin posts the summary', async () => {
    const page = await openPage();
    await actAs(page, ALICE);
    await openChannel(page, DM(ALICE));
    await page.click('#run-summary');
    await page.locator('#channels .channel.active[data-channel="C0BILLINGADMINS"]').waitFor();
    await page.locator('#messages .bk-header', { hasText: 'Billing access summary' }).waitFor();
    // Posted in the channel, not as an ephemeral: the other admin sees it too.
    await actAs(page, BOB);
    await page.locator('#messages > article.message:not(.ephemeral) .bk-header', { hasText: 'Billing access summary' }).waitFor();
  });

  it('updates appear without reloading: Alice’s open page shows Jane’s new request, Jane’s shows the decision', async () => {
    const alice = await openPage();
    await actAs(alice, ALICE);
    await openChannel(alice, ADMIN_CHANNEL);
    await alice.locator('#messages .empty').waitFor();
    await alice.evaluate(() => {
      (globalThis as { __sameDocument?: boolean }).__sameDocument = true;
    });

    const jane = await openPage();
    await actAs(jane, JANE);
    await openChannel(jane, DM(JANE));
    await jane.evaluate(() => {
      (globalThis as { __sameDocument?: boolean }).__sameDocument = true;
    });
    await type(jane, '/request-billing read-only 7d quarterly forecast with finance');

    const request = message(alice, 'Billing access request', 'quarterly forecast with finance');
    await request.waitFor();
    await request.locator('button.bk-button[data-label="Approve"]').click();
    await message(jane, 'is approved by @Alice Admin').waitFor();

    for (const page of [alice, jane]) {
      expect(await page.evaluate(() => (globalThis as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
    }
  });

  it('a person whose IAM user has no MFA device is refused at request time with how to add one: nothing reaches the admins or IAM', async () => {
    const page = await openPage();
    await actAs(page, NOAH);
    await page.locator(`#channels .channel.active[data-channel="${GENERAL_CHANNEL}"]`).waitFor();
    await type(page, '/request-billing read-only 7d checking the AWS invoice for October');
    const refusal = ephemeral(page, 'has no MFA device');
    await refusal.waitFor();
    const said = await refusal.innerText();
    expect(said).toContain('noah.newhire');
    expect(said).toContain('Assign MFA device');
    expect(await ephemeral(page, 'is sent to the admins').count()).toBe(0);

    await actAs(page, ALICE);
    await page.locator(`#channels .channel.active[data-channel="${ADMIN_CHANNEL}"]`).waitFor();
    await page.locator('#messages .empty').waitFor();
    expect(playground?.iam?.calls('ListMFADevices').length).toBeGreaterThan(0);
    expect(playground?.iam?.calls('AddUserToGroup')).toEqual([]);
    expect(iamMembers('BillingReadOnly')).toEqual([HAND_ADDED_MEMBER]);
  });

  it('a widened group: the guard fails the approval with Retry and grants nothing; narrowed back, Retry grants', async () => {
    const page = await openPage();
    await janeRequestsWhereSheLands(page);

    await actAs(page, ALICE);
    const group = iamGroup(page, 'BillingReadOnly');
    await group.locator('button.iam-widen', { hasText: 'Widen' }).click();
    await page.locator('#iam .iam-group.widened[data-group="BillingReadOnly"]').waitFor();
    expect(playground?.iam?.account.group('BillingReadOnly').attachedPolicyArns).toContain(WIDENING_POLICY_ARN);

    const request = message(page, 'Billing access request', '@Jane Doe');
    await request.locator('button.bk-button[data-label="Approve"]').click();
    await request.locator('button.bk-button[data-label="Retry"]').waitFor();
    const failed = await request.innerText();
    expect(failed).toContain('GroupPolicyMismatch');
    expect(failed).toContain(`unexpected managed policy ${WIDENING_POLICY_ARN}`);
    expect(await request.locator('button.bk-button[data-label="Approve"]').count()).toBe(0);
    expect(playground?.iam?.calls('AddUserToGroup')).toEqual([]);
    expect(iamMembers('BillingReadOnly')).toEqual([HAND_ADDED_MEMBER]);

    await group.locator('button.iam-widen', { hasText: 'Narrow' }).click();
    await page.locator('#iam .iam-group.widened').waitFor({ state: 'detached' });
    await request.locator('button.bk-button[data-label="Retry"]').click();
    await request.locator('button.bk-button[data-label="Revoke"]').waitFor();
    await gone(request.locator('button[data-label="Retry"]'));
    const granted = await request.innerText();
    expect(granted).toContain('Approved by @Alice Admin');
    expect(granted).not.toContain('GroupPolicyMismatch');
    await untilMember('BillingReadOnly', 'jane.doe', true);
    await group.locator('.iam-member', { hasText: 'jane.doe' }).waitFor();
  });

  it('the access review flags the member added by hand as drift, not the one the bot granted; channels show by name', async () => {
    const page = await openPage();
    await janeGrantedReadOnly(page);

    await page.click('#run-summary');
    const summary = page.locator('#messages > article.message:not(.ephemeral)', { hasText: 'Billing access summary' });
    await summary.waitFor();
    const lines = (await summary.innerText()).split('\n');
    expect(lines.find((l) => l.includes(HAND_ADDED_MEMBER))).toContain('no active grant from the bot (added by hand)');
    const jane = lines.find((l) => l.startsWith('•') && l.includes('jane.doe'));
    expect(jane).toContain('MFA ✓');
    expect(jane).not.toContain('no active grant');
    expect(lines.join('\n')).toMatch(/Review findings\s+1 \(1 without a grant\)/);

    // The bot writes <#C0BILLINGADMINS>; the page shows the channel's name, as Slack does.
    const posted = ephemeral(page, 'Summary of the last 7 days posted in');
    await posted.waitFor();
    await expect(posted.innerText()).resolves.toContain('#billing-admins');
    expect(await page.locator('main').innerText()).not.toContain('C0BILLINGADMINS');
  });

  it('revoke takes the member out of the IAM group again', async () => {
    const page = await openPage();
    await janeGrantedReadOnly(page);

    await type(page, '/request-billing revoke @jane');
    await untilMember('BillingReadOnly', 'jane.doe', false);
    expect(iamMembers('BillingReadOnly')).toEqual([HAND_ADDED_MEMBER]);
    await gone(iamGroup(page, 'BillingReadOnly').locator('.iam-member', { hasText: 'jane.doe' }));
  });

  it('each person lands where their role belongs; a form’s reply in the DM is pointed at and badged; older ephemerals fold away; the hint gives whole commands', async () => {
    const page = await openPage();
    await actAs(page, JANE);
    await page.locator(`#channels .channel.active[data-channel="${GENERAL_CHANNEL}"]`).waitFor();
    await actAs(page, ALICE);
    await page.locator(`#channels .channel.active[data-channel="${ADMIN_CHANNEL}"]`).waitFor();
    await actAs(page, JANE);
    await page.locator(`#channels .channel.active[data-channel="${GENERAL_CHANNEL}"]`).waitFor();

    const commands = await page.locator('#hint .fill').allInnerTexts();
    expect(commands).toEqual(expect.arrayContaining(['/request-billing status', '/request-billing done', '/request-billing summary']));
    expect(commands.every((c) => c.startsWith('/request-billing'))).toBe(true);
    await page.locator('#hint .fill', { hasText: '/request-billing status' }).click();
    await expect(page.inputValue('#command')).resolves.toBe('/request-billing status');
    // A bare subcommand is not a command; the page says which one was meant.
    await type(page, 'status');
    await ephemeral(page, 'Did you mean /request-billing status?').waitFor();

    // A form's confirmation goes to the DM: the page says so, and the DM shows an unread badge.
    await type(page, '/request-billing');
    const form = modal(page);
    await form.getByLabel('Justification').fill('Reviewing the October invoice with finance');
    await form.locator('button.submit').click();
    await page.locator('#modal').waitFor({ state: 'hidden' });
    const note = page.locator('#reply-note:not([hidden])');
    await note.waitFor();
    await expect(note.innerText()).resolves.toContain('Reply sent to your DM with the bot');
    const dmBadge = page.locator(`#channels .channel[data-channel="${DM(JANE)}"] .unread-badge`);
    await expect(dmBadge.innerText()).resolves.toBe('1');
    await note.locator('button.open-dm').click();
    await page.locator(`#channels .channel.active[data-channel="${DM(JANE)}"]`).waitFor();
    await message(page, 'is sent to the admins').waitFor();
    await gone(dmBadge);
    await page.locator('#reply-note').waitFor({ state: 'hidden' });

    // Replies only visible to you: the newest stays open, older ones fold into one line.
    await openChannel(page, GENERAL_CHANNEL);
    await type(page, '/request-billing help');
    await page.locator('#ephemerals > article.message.ephemeral', { hasText: '/request-billing' }).waitFor();
    expect(await page.locator('#ephemerals details.older').count()).toBe(0);
    for (const folded of ['1 earlier reply', '2 earlier replies']) {
      await type(page, '/request-billing help');
      await page.locator('#ephemerals details.older summary', { hasText: folded }).waitFor();
    }
    expect(await page.locator('#ephemerals > article.message.ephemeral').count()).toBe(1);
    expect(await page.locator('#ephemerals details.older').getAttribute('open')).toBeNull();
  });

  it('a page on another site cannot send commands through the playground: its form post and fetch are refused', async () => {
    const commandUrl = new URL('/ui/command', playground?.url ?? '').href;
    // What any site the developer visits could do: a text/plain form post whose body parses as
    // JSON, and a no-cors fetch; neither needs a CORS preflight, and neither can read the token.
    const forged = (how: string) => ({ user: JANE, channel: ADMIN_CHANNEL, text: `/request-billing read-only 7d forged by ${how}` });
    const formField = `${JSON.stringify(forged('a form')).slice(0, -1)},"pad":"`;
    const attacker = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(`<!doctype html><iframe name="sink"></iframe>
        <form method="POST" action="${commandUrl}" enctype="text/plain" target="sink">
          <input type="hidden" name='${formField.replace(/'/g, '&#39;')}' value='"}'><button>Win a prize</button>
        </form>`);
    });
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
    try {
      const context = await requireBrowser().newContext();
      contexts.push(context);
      const evil = await context.newPage();
      // localhost and 127.0.0.1 are different sites to the browser.
      await evil.goto(`http://localhost:${(attacker.address() as AddressInfo).port}/`);
      const posted = () => evil.waitForResponse((r) => r.url() === commandUrl && r.request().method() === 'POST');
      const formPosted = posted();
      await evil.click('button');
      expect((await formPosted).status()).toBe(403);
      await evil.evaluate(
        async ({ url, body }) => {
          await fetch(url, { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body });
        },
        { url: commandUrl, body: JSON.stringify(forged('a fetch')) },
      );

      // A genuine request made afterwards arrives; the forged ones, sent first, never do.
      const page = await openPage();
      await actAs(page, BOB);
      await openChannel(page, ADMIN_CHANNEL);
      await type(page, '/request-billing read-only 7d genuine request after the forged ones');
      await ephemeral(page, 'is sent to the admins').waitFor();
      await actAs(page, ALICE);
      await message(page, 'Billing access request', 'genuine request after the forged ones').waitFor();
      expect(await message(page, 'forged by').count()).toBe(0);
      await actAs(page, JANE);
      expect(await page.getByText('forged by').count()).toBe(0);
      await openChannel(page, DM(JANE));
      await page.locator('#messages .empty').waitFor();
    } finally {
      attacker.closeAllConnections();
      await new Promise<void>((resolve) => attacker.close(() => resolve()));
    }
  });

  it('an employee’s Home shows her grant and requests: Request opens the form, Done ends the grant in IAM', async () => {
    const page = await openPage();
    await janeGrantedReadOnly(page);

    await actAs(page, JANE);
    const home = await openHome(page);
    await expect(page.locator('#channel-title').innerText()).resolves.toBe('Billing bot · Home');
    // The Home replaces the channel: no messages and no message box.
    await page.locator('#messages').waitFor({ state: 'hidden' });
    await page.locator('#composer').waitFor({ state: 'hidden' });
    const grant = homeSection(home, 'read-only', 'BillingReadOnly');
    await grant.locator('button.bk-button[data-label="Done"]').waitFor();
    await homeSection(home, 'read-only', 'Approved by @Alice Admin').first().waitFor();
    await home.locator('.bk-header', { hasText: 'Your recent requests' }).waitFor();
    // An employee sees no one else's requests.
    expect(await home.locator('.bk-header', { hasText: 'Pending requests' }).count()).toBe(0);
    expect(await home.locator('button[data-label="Approve"], button[data-label="Revoke"]').count()).toBe(0);

    await home.locator('button.bk-button[data-label="Request"]').click();
    const form = modal(page);
    await form.locator('h2', { hasText: 'Billing access' }).waitFor();
    await form.getByLabel('Justification').waitFor();
    await form.locator('button.close').click();
    await page.locator('#modal').waitFor({ state: 'hidden' });

    await grant.locator('button.bk-button[data-label="Done"]').click();
    await untilMember('BillingReadOnly', 'jane.doe', false);
    expect(iamMembers('BillingReadOnly')).toEqual([HAND_ADDED_MEMBER]);
    // The bot publishes the Home again after her action: the grant is gone from it.
    await home.locator('.bk-context', { hasText: 'You hold no billing access right now.' }).waitFor();
    await gone(home.locator('button[data-label="Done"]'));
  });

  it('an admin’s Home lists the pending request: Approve there grants it and updates the admin channel’s message', async () => {
    const page = await openPage();
    await janeRequestsWhereSheLands(page);

    await actAs(page, ALICE);
    const home = await openHome(page);
    await home.locator('.bk-header', { hasText: 'Pending requests' }).waitFor();
    await homeSection(home, '@Jane Doe', 'read-only', 'month-end close for October').waitFor();
    const approve = home.locator('button.bk-button[data-label="Approve"]');
    expect(await approve.count()).toBe(1);
    await approve.click();

    await untilMember('BillingReadOnly', 'jane.doe', true);
    // Published again after the admin's action: nothing pending, Jane among the active grants with Revoke.
    await home.locator('.bk-context', { hasText: 'Nothing waits for a decision.' }).waitFor();
    await homeSection(home, '@Jane Doe', 'jane.doe').locator('button.bk-button[data-label="Revoke"]').waitFor();

    await openChannel(page, ADMIN_CHANNEL);
    const request = message(page, 'Billing access request', '@Jane Doe');
    await request.locator('.edited').waitFor();
    await expect(request.innerText()).resolves.toContain('Approved by @Alice Admin');
    await gone(request.locator('button[data-label="Approve"]'));
    await iamGroup(page, 'BillingReadOnly').locator('.iam-member', { hasText: 'jane.doe' }).waitFor();
  });
});
