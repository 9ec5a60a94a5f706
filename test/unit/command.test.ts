import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Command, JUSTIFICATION_MAX, JUSTIFICATION_MIN, type ParseOptions, parseCommand, parseDuration } from '../../src/domain/command.js';
import { ValidationError } from '../../src/errors.js';

const opts: ParseOptions = { levels: ['read-only', 'full'], defaultDurationDays: 7, maxDurationDays: 90, breakGlassEnabled: false };
const ULID = '01HZY3K4M5N6P7Q8R9S0T1V2W3';
const REASON = 'month-end close for October';

function parse(text: string, options: Partial<ParseOptions> = {}): Command {
  return parseCommand(text, { ...opts, ...options });
}

/** Parses expecting a ValidationError, and returns it. */
function refused(text: string, options: Partial<ParseOptions> = {}): ValidationError {
  let result: Command;
  try {
    result = parse(text, options);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return err as ValidationError;
  }
  throw new Error(`"${text}" was accepted as ${JSON.stringify(result)}`);
}

describe('parseCommand subcommands', () => {
  it('opens the modal for empty or blank text', () => {
    expect(parse('')).toEqual({ kind: 'modal' });
    expect(parse('   \t ')).toEqual({ kind: 'modal' });
  });

  it.each(['help', 'status', 'summary'] as const)('parses %s', (word) => {
    expect(parse(word)).toEqual({ kind: word });
    expect(parse(`  ${word.toUpperCase()}  `)).toEqual({ kind: word });
  });

  it('parses done, with or without a level', () => {
    expect(parse('done')).toEqual({ kind: 'done', level: undefined });
    expect(parse('done full')).toEqual({ kind: 'done', level: 'full' });
  });

  it('refuses done with an unknown level, naming the levels', () => {
    const err = refused('done admin');
    expect(err.message).toContain('read-only');
    expect(err.message).toContain('full');
  });

  it('parses cancel <id>, upper-casing the id', () => {
    expect(parse(`cancel ${ULID}`)).toEqual({ kind: 'cancel', requestId: ULID });
    expect(parse(`cancel ${ULID.toLowerCase()}`)).toEqual({ kind: 'cancel', requestId: ULID });
  });

  it.each(['cancel', 'cancel not-an-id', `cancel ${ULID} extra`, `cancel ${ULID.slice(1)}`, `cancel ${ULID.slice(0, 25)}I`])('refuses "%s"', (text) => {
    refused(text);
  });

  it('parses revoke <@U…>', () => {
    expect(parse('revoke <@U012ABCDEF>')).toEqual({ kind: 'revoke', target: { userId: 'U012ABCDEF' } });
  });

  it('parses revoke <@U…|name>', () => {
    expect(parse('revoke <@U012ABCDEF|jane.doe>')).toEqual({ kind: 'revoke', target: { userId: 'U012ABCDEF' } });
  });

  it('parses revoke <id>', () => {
    expect(parse(`revoke ${ULID}`)).toEqual({ kind: 'revoke', target: { requestId: ULID } });
    expect(parse(`revoke ${ULID.toLowerCase()}`)).toEqual({ kind: 'revoke', target: { requestId: ULID } });
  });

  it.each(['revoke', 'revoke @jane', 'revoke <@U012ABCDEF> <@U0OTHER>', 'revoke <#C012ABCDEF>', 'revoke <!channel>'])('refuses "%s"', (text) => {
    refused(text);
  });

  it('parses link <@U…> <iam-user>', () => {
    expect(parse('link <@U012ABCDEF> jane.doe')).toEqual({ kind: 'link', userId: 'U012ABCDEF', iamUserName: 'jane.doe' });
    expect(parse('link <@U012ABCDEF|jane> jane.doe@corp.com')).toEqual({ kind: 'link', userId: 'U012ABCDEF', iamUserName: 'jane.doe@corp.com' });
  });

  it.each([
    'link',
    'link <@U012ABCDEF>',
    'link jane jane.doe',
    'link <@U012ABCDEF> jane doe',
    'link <@U012ABCDEF> jane/doe',
    `link <@U012ABCDEF> ${'a'.repeat(65)}`,
  ])('refuses "%s"', (text) => {
    refused(text);
  });
});

describe('parseCommand requests', () => {
  it('parses level, duration and justification', () => {
    expect(parse(`read-only 7d ${REASON}`)).toEqual({ kind: 'request', level: 'read-only', durationDays: 7, justification: REASON, breakGlass: false });
    expect(parse(`full 30d ${REASON}`)).toEqual({ kind: 'request', level: 'full', durationDays: 30, justification: REASON, breakGlass: false });
  });

  it('uses the first configured level when the level is omitted', () => {
    expect(parse(`14d ${REASON}`)).toEqual({ kind: 'request', level: 'read-only', durationDays: 14, justification: REASON, breakGlass: false });
    expect(parse(`14d ${REASON}`, { levels: ['full', 'read-only'] })).toMatchObject({ level: 'full' });
    expect(parse(REASON)).toMatchObject({ kind: 'request', level: 'read-only', justification: REASON });
  });

  it('uses the default duration when <n>d is omitted', () => {
    expect(parse(`full ${REASON}`)).toEqual({ kind: 'request', level: 'full', durationDays: 7, justification: REASON, breakGlass: false });
    expect(parse(`full ${REASON}`, { defaultDurationDays: 3 })).toMatchObject({ durationDays: 3 });
    expect(parse(REASON)).toMatchObject({ durationDays: 7 });
  });

  it('accepts the maximum and 1 day', () => {
    expect(parse(`read-only 90d ${REASON}`)).toMatchObject({ durationDays: 90 });
    expect(parse(`read-only 1d ${REASON}`)).toMatchObject({ durationDays: 1 });
  });

  it('refuses more days than the maximum, naming the maximum', () => {
    const err = refused(`read-only 91d ${REASON}`);
    expect(err.message).toContain('90');
    expect(err.field).toBe('duration');
    expect(refused(`read-only 31d ${REASON}`, { maxDurationDays: 30 }).message).toContain('30');
  });

  it.each(['0d', '-3d', '00d'])('refuses a duration of %s', (word) => {
    const err = refused(`read-only ${word} ${REASON}`);
    expect(err.field).toBe('duration');
  });

  it('refuses an unknown level followed by a duration, naming the levels', () => {
    const err = refused(`admin 7d ${REASON}`);
    expect(err.field).toBe('level');
    expect(err.message).toContain('admin');
    expect(err.message).toContain('read-only');
    expect(err.message).toContain('full');
  });

  it('refuses an unknown level followed by break-glass, naming the levels', () => {
    const err = refused(`admin break-glass ${REASON}`, { breakGlassEnabled: true });
    expect(err.message).toContain('read-only');
    expect(err.message).toContain('full');
  });

  it('refuses a justification under 10 characters', () => {
    const err = refused('read-only 7d too short');
    expect(err.field).toBe('justification');
    expect(err.message).toContain(String(JUSTIFICATION_MIN));
    refused('read-only 7d');
    refused('full');
  });

  it('accepts a justification of exactly 10 and exactly 500 characters', () => {
    expect(parse('read-only 7d 0123456789')).toMatchObject({ justification: '0123456789' });
    const long = 'x'.repeat(JUSTIFICATION_MAX);
    expect(parse(`read-only 7d ${long}`)).toMatchObject({ justification: long });
  });

  it('refuses a justification over 500 characters', () => {
    const err = refused(`read-only 7d ${'x'.repeat(JUSTIFICATION_MAX + 1)}`);
    expect(err.field).toBe('justification');
    expect(err.message).toContain('500');
  });

  it('collapses whitespace inside the justification', () => {
    expect(parse(`read-only   7d   month-end\tclose\n for   October`)).toMatchObject({ justification: REASON });
  });

  it('refuses break-glass when it is disabled', () => {
    const err = refused(`full break-glass ${REASON}`);
    expect(err.message.toLowerCase()).toContain('break-glass');
    refused(`break-glass ${REASON}`);
  });

  it('parses break-glass when it is enabled', () => {
    expect(parse(`full break-glass ${REASON}`, { breakGlassEnabled: true })).toEqual({
      kind: 'request',
      level: 'full',
      durationDays: 7,
      justification: REASON,
      breakGlass: true,
    });
  });

  it('never takes a subcommand word as a level', () => {
    expect(parse('status 7d something long enough', { levels: ['status', 'read-only'] })).toEqual({ kind: 'status' });
  });
});

describe('parseDuration: digits then d, nothing else', () => {
  /** The duration the modal's value `value` gives (the modal reads it as `${value}d`), or the refusal. */
  function modal(value: string, maxDays = 90): number | ValidationError {
    try {
      return parseDuration(`${value}d`, maxDays);
    } catch (err) {
      expect(err).toBeInstanceOf(ValidationError);
      return err as ValidationError;
    }
  }

  it('takes whole numbers of days from 1 to the maximum, typed or picked', () => {
    expect(parseDuration('7d', 90)).toBe(7);
    expect(parseDuration('7D', 90)).toBe(7);
    expect(parseDuration('007d', 90)).toBe(7);
    expect(modal('1')).toBe(1);
    expect(modal('90')).toBe(90);
  });

  it.each([' 7', '7 ', '\t7', '0x10', '0b11', '0o7', '1e1', '7.0', '7.', '+7', '-7', '', 'NaN', 'Infinity', '７', '٧', '1_0', '7d'])(
    'refuses the modal value %j on the duration field, with a message that says what a duration is',
    (value) => {
      const result = modal(value);
      expect(result).toBeInstanceOf(ValidationError);
      expect((result as ValidationError).field).toBe('duration');
      expect((result as ValidationError).message).toMatch(/whole number of days/);
    },
  );

  it('refuses more than the maximum naming the maximum, without repeating a huge number', () => {
    expect((modal('91') as ValidationError).message).toBe('91 days is more than the maximum of 90 days.');
    expect((modal('9'.repeat(400)) as ValidationError).message).toBe('That is more than the maximum of 90 days.');
  });

  it('accepts exactly the strings of ASCII digits in range (property)', () => {
    const value = fc.oneof(
      fc.integer({ min: -5, max: 200 }).map(String),
      fc.stringMatching(/^[0-9]{1,4}$/),
      fc.string({ maxLength: 8 }),
      fc.tuple(fc.constantFrom(' ', '\t', '+', '0x', '0', '.', 'e1', '\u00a0'), fc.integer({ min: 1, max: 90 })).map(([x, n]) => `${x}${n}`),
      fc.tuple(fc.integer({ min: 1, max: 90 }), fc.constantFrom(' ', '.0', 'e0', 'd', '\n')).map(([n, x]) => `${n}${x}`),
    );
    fc.assert(
      fc.property(value, fc.integer({ min: 1, max: 3650 }), (v, maxDays) => {
        const result = modal(v, maxDays);
        const valid = /^[0-9]+$/.test(v) && Number(v) >= 1 && Number(v) <= maxDays;
        if (valid) expect(result).toBe(Number(v));
        else expect(result).toBeInstanceOf(ValidationError);
      }),
      { numRuns: 3000 },
    );
  });

  it('reads the duration word of the command text by the same rule', () => {
    expect(parse(`read-only 007d ${REASON}`)).toMatchObject({ durationDays: 7 });
    expect(refused(`read-only -7d ${REASON}`).field).toBe('duration');
    // Not a duration word at all: part of the justification, with the default duration.
    expect(parse(`read-only 0x10d ${REASON}`)).toMatchObject({ durationDays: 7, justification: `0x10d ${REASON}` });
    expect(parse(`read-only 1e1d ${REASON}`)).toMatchObject({ durationDays: 7, justification: `1e1d ${REASON}` });
  });
});

describe('parseCommand is total (property)', () => {
  const vocabulary = [
    'help',
    'status',
    'summary',
    'done',
    'cancel',
    'revoke',
    'link',
    'read-only',
    'full',
    'admin',
    'break-glass',
    '0d',
    '1d',
    '7d',
    '90d',
    '91d',
    '-1d',
    '99999999999999999999d',
    '1e3d',
    'NaNd',
    ULID,
    ULID.toLowerCase(),
    '<@U012ABCDEF>',
    '<@U012ABCDEF|jane>',
    '<@W0X>',
    '<!channel>',
    'jane.doe',
    'month-end',
    'close',
    '&amp;',
    '\u00a0',
    '\n',
  ];
  const word = fc.oneof(fc.constantFrom(...vocabulary), fc.string({ maxLength: 12 }), fc.string({ unit: 'grapheme', maxLength: 6 }));
  const text = fc.oneof(
    fc.string({ maxLength: 700 }),
    fc.string({ unit: 'binary', maxLength: 80 }),
    fc.array(word, { maxLength: 12 }).map((ws) => ws.join(' ')),
    fc.tuple(fc.array(word, { maxLength: 3 }), fc.integer({ min: 0, max: 600 })).map(([ws, n]) => `${ws.join(' ')} ${'y'.repeat(n)}`),
  );
  const options = fc
    .record({
      levels: fc.uniqueArray(fc.constantFrom('read-only', 'full', 'cost-explorer', 'ce'), { minLength: 1, maxLength: 3 }),
      maxDurationDays: fc.integer({ min: 1, max: 3650 }),
      breakGlassEnabled: fc.boolean(),
      defaultSeed: fc.integer({ min: 1, max: 3650 }),
    })
    .map(({ defaultSeed, ...rest }): ParseOptions => ({ ...rest, defaultDurationDays: ((defaultSeed - 1) % rest.maxDurationDays) + 1 }));

  it('returns a command or throws a ValidationError, and any request is within bounds', () => {
    fc.assert(
      fc.property(text, options, (input, parseOptions) => {
        let command: Command;
        try {
          command = parseCommand(input, parseOptions);
        } catch (err) {
          expect(err).toBeInstanceOf(ValidationError);
          return;
        }
        expect(command).toBeTypeOf('object');
        if (command.kind === 'request') {
          expect(parseOptions.levels).toContain(command.level);
          expect(Number.isInteger(command.durationDays)).toBe(true);
          expect(command.durationDays).toBeGreaterThanOrEqual(1);
          expect(command.durationDays).toBeLessThanOrEqual(parseOptions.maxDurationDays);
          expect(command.justification.length).toBeGreaterThanOrEqual(JUSTIFICATION_MIN);
          expect(command.justification.length).toBeLessThanOrEqual(JUSTIFICATION_MAX);
          expect(command.justification).toBe(command.justification.trim());
          if (command.breakGlass) expect(parseOptions.breakGlassEnabled).toBe(true);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
