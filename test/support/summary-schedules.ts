/** SUMMARY_CRON settings the summary scenarios start the bot with, instead of the weekly default (Monday 09:00 UTC). */
export const EVERY_MINUTE = { SUMMARY_CRON: '* * * * *' };
export const HOURLY = { SUMMARY_CRON: '0 * * * *' };
