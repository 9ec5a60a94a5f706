/** Types for render.js, the page's Block Kit and mrkdwn renderer (plain JS, served as is). */

/** Names by id: a person's for `<@U…>`, a channel's for `<#C…>`. */
export type People = Record<string, string>;

export interface TextObject {
  type: 'plain_text' | 'mrkdwn';
  text: string;
  emoji?: boolean;
}

export type Block = { type: string; block_id?: string; [key: string]: unknown };

export interface ModalView {
  type?: string;
  title?: TextObject;
  submit?: TextObject;
  close?: TextObject;
  blocks?: Block[];
  [key: string]: unknown;
}

export function escapeHtml(text: unknown): string;
export function mrkdwn(text: string | null | undefined, people?: People): string;
export function renderBlocks(blocks: readonly Block[] | null | undefined, people?: People): string;
export function renderModal(view: ModalView, errors?: Record<string, string>, people?: People): string;

/** The Home tab the bot published for a person: the view's id and the view (`type: 'home'`). */
export interface PublishedHome {
  viewId: string;
  view: { type?: string; blocks?: Block[]; [key: string]: unknown };
}

export function renderHome(home: PublishedHome | null | undefined, people?: People): string;
