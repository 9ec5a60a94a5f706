/**
 * The words of the notices the services send without a request message of their own: news in
 * a request's admin thread and notices in the admin channel. Pure.
 */
import type { LinkNotice, ThreadNews } from '../services/ports.js';
import { escapeMrkdwn, mention } from './escape.js';

export function threadNewsText(news: ThreadNews): string {
  switch (news.kind) {
    case 'expired':
      return `Access expired and was removed from \`${escapeMrkdwn(news.groupName)}\`.`;
    case 'revoked':
      return `Access revoked by ${mention(news.by)} and removed from \`${escapeMrkdwn(news.groupName)}\`.`;
    case 'reminder':
      return `:bell: Reminder: this request is still waiting for a decision (times out in about ${news.hoursLeft} h).`;
    case 'put-back-failed':
      return `:warning: ${escapeMrkdwn(news.iamUserName)} was taken out of ${escapeMrkdwn(news.groupName)} while another change kept this grant active, and could not be put back (${escapeMrkdwn(news.errorName)}). Re-add them by hand or revoke the grant.`;
  }
}

export function linkNoticeText(link: LinkNotice): string {
  const was = link.previous ? ` (was \`${escapeMrkdwn(link.previous)}\`)` : '';
  return `:link: ${mention(link.adminId)} linked ${mention(link.userId)} to IAM user \`${escapeMrkdwn(link.iamUserName)}\`${was}.`;
}
