/** `npm run playground:screenshot`: the README's picture of the page after an approval. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchChromium } from './browser.js';
import { emojiFontProblem } from './emoji-font.js';
import { startPlayground } from './main.js';

const fontProblem = emojiFontProblem();
if (fontProblem) {
  process.stderr.write(`${fontProblem}\n`);
  process.exit(1);
}

const dataDir = await mkdtemp(join(tmpdir(), 'playground-shot-'));
const playground = await startPlayground({ dataDir, quiet: true });
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 820 } });
  await page.goto(playground.url);
  await page.selectOption('#person', 'U0JANE');
  await page.fill('#command', '/request-billing read-only 7d month-end close for October');
  await page.press('#command', 'Enter');
  await page.waitForSelector('text=is sent to the admins');
  await page.selectOption('#person', 'U0ALICE');
  await page.click('.channel[data-channel="C0BILLINGADMINS"]');
  await page.click('.bk-button[data-label="Approve"]');
  await page.waitForSelector('text=Approved by');
  await page.screenshot({ path: 'docs/playground-approved.png' });
  process.stdout.write('wrote docs/playground-approved.png\n');
} finally {
  await browser.close();
  await playground.stop();
  await rm(dataDir, { recursive: true, force: true });
}
