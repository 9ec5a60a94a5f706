/**
 * Chromium draws the bot's emoji (`:white_check_mark:`, `:warning:`…) with an emoji font found
 * through fontconfig; with none, each is an empty box. The README's screenshots are refused
 * without one (scripts/screenshots.sh installs it from Debian, then takes them).
 */
import { execFileSync } from 'node:child_process';

const INSTALL = 'apt-get install -y fonts-noto-color-emoji, or run scripts/screenshots.sh, which installs it and takes the screenshots';

/** Why the page's emoji would not render, with the fix; undefined when fontconfig knows an emoji font. */
export function emojiFontProblem(listFamilies: () => string = () => execFileSync('fc-list', [':', 'family'], { encoding: 'utf8' })): string | undefined {
  let families: string;
  try {
    families = listFamilies();
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    return missing
      ? 'fc-list not found, so no emoji font can be confirmed: apt-get install -y fontconfig fonts-noto-color-emoji'
      : `fc-list failed (${err instanceof Error ? err.message : String(err)}), so no emoji font can be confirmed`;
  }
  if (/emoji/i.test(families)) return undefined;
  return `No emoji font: Chromium would draw every emoji of the page as an empty box. Install one: ${INSTALL}`;
}
