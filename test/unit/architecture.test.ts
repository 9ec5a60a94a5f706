/**
 * The layout's arrows (README "Development", Layout), read from the import specifiers of every
 * .ts file under src/, handlers/, playground/ and bench/ with the TypeScript parser. testkit/ and
 * test/ are rigs and out of scope. Each rule carries a small sample source that breaks it, so a
 * rule cannot pass only because the walker found nothing. The last block walks the static imports
 * from each thread's entry point, so what a thread loads is checked as a whole, not file by file.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCANNED = ['src', 'handlers', 'playground', 'bench'];

interface Import {
  specifier: string;
  /** A relative specifier as a path from the repository root (`src/config.ts`); otherwise the specifier itself. */
  target: string;
  /** `import type`, `export type … from` or an `import('…')` type: nothing is loaded at run time. */
  typeOnly: boolean;
  /** The value names it binds (`*` for a namespace, `default`); inline `type` names are left out. */
  names: string[];
  /** `import(expr)` whose module is not a string literal. */
  computed: boolean;
  /** `import('…')` at run time: loaded when called, not with the importing module. */
  dynamic: boolean;
}

interface ParsedFile {
  path: string;
  imports: Import[];
  /** Lines that read `process.env` (or `process['env']`). */
  envReads: number[];
  /** `new X(…)` of the clients and schedulers only a composition root builds: `X:line`. */
  builds: string[];
}

/** What only a composition root constructs: SDK clients, the Slack Web API client, the schedules. */
const ROOT_ONLY = new Set(['WebClient', 'App', 'IAMClient', 'STSClient', 'DynamoDBClient', 'Cron']);

function resolveTarget(file: string, specifier: string): string {
  if (!specifier.startsWith('.')) return specifier;
  return posix.join(posix.dirname(file), specifier).replace(/\.(m?js)$/, '.ts');
}

function importOf(file: string, specifier: string, typeOnly: boolean, names: string[]): Import {
  return { specifier, target: resolveTarget(file, specifier), typeOnly, names, computed: false, dynamic: false };
}

function boundNames(clause: ts.ImportClause | undefined): string[] {
  if (!clause || clause.isTypeOnly) return [];
  const names = clause.name ? ['default'] : [];
  const bindings = clause.namedBindings;
  if (bindings && ts.isNamespaceImport(bindings)) names.push('*');
  if (bindings && ts.isNamedImports(bindings)) {
    for (const el of bindings.elements) if (!el.isTypeOnly) names.push((el.propertyName ?? el.name).text);
  }
  return names;
}

function exportedNames(decl: ts.ExportDeclaration): string[] {
  if (decl.isTypeOnly) return [];
  if (!decl.exportClause || ts.isNamespaceExport(decl.exportClause)) return ['*'];
  return decl.exportClause.elements.filter((el) => !el.isTypeOnly).map((el) => (el.propertyName ?? el.name).text);
}

function readsProcessEnv(node: ts.Node): boolean {
  const access =
    (ts.isPropertyAccessExpression(node) && node.name.text === 'env') ||
    (ts.isElementAccessExpression(node) && ts.isStringLiteralLike(node.argumentExpression) && node.argumentExpression.text === 'env');
  return access && ts.isIdentifier(node.expression) && node.expression.text === 'process';
}

function parseFile(path: string, text: string): ParsedFile {
  const ast = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
  const imports: Import[] = [];
  const envReads: number[] = [];
  const builds: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      imports.push(importOf(path, node.moduleSpecifier.text, node.importClause?.isTypeOnly ?? false, boundNames(node.importClause)));
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      imports.push(importOf(path, node.moduleSpecifier.text, node.isTypeOnly, exportedNames(node)));
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const arg = node.arguments[0];
      if (arg && ts.isStringLiteralLike(arg)) imports.push({ ...importOf(path, arg.text, false, ['*']), dynamic: true });
      else imports.push({ specifier: `import(${arg?.getText(ast) ?? ''})`, target: '', typeOnly: false, names: ['*'], computed: true, dynamic: true });
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      imports.push(importOf(path, node.argument.literal.text, true, []));
    }
    if (readsProcessEnv(node)) envReads.push(ast.getLineAndCharacterOfPosition(node.getStart(ast)).line + 1);
    if (ts.isNewExpression(node) && ts.isIdentifier(node.expression) && ROOT_ONLY.has(node.expression.text)) {
      builds.push(`${node.expression.text}:${ast.getLineAndCharacterOfPosition(node.getStart(ast)).line + 1}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(ast);
  return { path, imports, envReads, builds };
}

function scanTree(): ParsedFile[] {
  const files: ParsedFile[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const full = join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (name.endsWith('.ts')) files.push(parseFile(relative(ROOT, full).split(sep).join('/'), readFileSync(full, 'utf8')));
    }
  };
  for (const folder of SCANNED) walk(join(ROOT, folder));
  return files;
}

const under = (path: string, ...folders: string[]) => folders.some((folder) => path.startsWith(folder));
const isPackage = (target: string, ...packages: string[]) => packages.some((p) => target === p || target.startsWith(`${p}/`));
const arrow = (file: ParsedFile, imp: Import) => `${file.path} → ${imp.specifier}${imp.typeOnly ? ' (type-only)' : ''}`;

interface Rule {
  name: string;
  /** The files the rule speaks about. */
  from: (path: string) => boolean;
  offences: (file: ParsedFile) => string[];
  /** Sources (path → text) that break the rule, and exactly what the rule must report for them. */
  sample: Record<string, string>;
  caught: string[];
}

function importRule(rule: Omit<Rule, 'offences'> & { forbids: (imp: Import, file: string) => boolean }): Rule {
  return { ...rule, offences: (file) => file.imports.filter((imp) => rule.forbids(imp, file.path)).map((imp) => arrow(file, imp)) };
}

/** The bot's IAM and STS clients. bench/ is left out of that rule: like testkit/, it seeds and reads moto directly. */
const IAM_SDK = ['@aws-sdk/client-iam', '@aws-sdk/client-sts'];

/** The composition root may import the client constructors (and types), never commands. */
const SDK_IMPORT_EXCEPTIONS: Record<string, (imp: Import) => boolean> = {
  'src/deps.ts': (imp) => imp.names.every((name) => name.endsWith('Client')),
  'src/aws-clients.ts': (imp) => imp.names.every((name) => name.endsWith('Client')),
  'src/sts-client.ts': (imp) => imp.names.every((name) => name.endsWith('Client')),
};

/** Where clients, the Slack client and schedules are built: the bot's composition root (with its client and schedule makers, the side that answers Slack, and the two ways to start it), its work thread, and each CLI's own. */
const COMPOSITION_ROOTS = [
  'src/deps.ts',
  'src/aws-clients.ts',
  'src/sts-client.ts',
  'src/slack-clients.ts',
  'src/schedules.ts',
  'src/answering.ts',
  'src/bot.ts',
  'src/bot-one-thread.ts',
  'src/work-thread.ts',
  'src/cli/',
];

/** `import(name)` kept computed on purpose: optional packages that the esbuild bundle must not pull in. */
const COMPUTED_IMPORT_EXCEPTIONS = ['src/store/embedded-probe.ts'];

const RULES: Rule[] = [
  importRule({
    name: 'src/domain imports only other domain modules, src/errors.ts, and src/config.ts for types (import type)',
    from: (path) => under(path, 'src/domain/'),
    forbids: (imp) => !(under(imp.target, 'src/domain/') || imp.target === 'src/errors.ts' || (imp.target === 'src/config.ts' && imp.typeOnly)),
    sample: {
      'src/domain/sample.ts': [
        "import type { MfaPolicy } from '../config.js';",
        "import { type Config } from '../config.js';",
        "import { ValidationError } from '../errors.js';",
        "import type { AccessRequest } from './request.js';",
        "import type { KnownBlock } from '@slack/types';",
        "import { IAMClient } from '@aws-sdk/client-iam';",
        "export { DynamoStore } from '../store/dynamo-store.js';",
        "export const later = () => import('../slack-web/notifier.js');",
      ].join('\n'),
    },
    caught: [
      'src/domain/sample.ts → ../config.js',
      'src/domain/sample.ts → @slack/types (type-only)',
      'src/domain/sample.ts → @aws-sdk/client-iam',
      'src/domain/sample.ts → ../store/dynamo-store.js',
      'src/domain/sample.ts → ../slack-web/notifier.js',
    ],
  }),
  importRule({
    name: 'src/services work over their ports: nothing from src/aws, src/store, src/slack, src/slack-web, an SDK or Slack',
    from: (path) => under(path, 'src/services/'),
    forbids: (imp) => under(imp.target, 'src/aws/', 'src/store/', 'src/slack/', 'src/slack-web/', 'handlers/') || isPackage(imp.target, '@aws-sdk', '@slack'),
    sample: {
      'src/services/sample.ts': [
        "import { escapeMrkdwn } from '../slack/escape.js';",
        "import type { SlackNotifier } from '../slack-web/notifier.js';",
        "import { DynamoRequestStore } from '../store/dynamo-store.js';",
        "import type { WebClient } from '@slack/web-api';",
        "import { open } from '../domain/transitions.js';",
        "import type { Notifier } from './ports.js';",
      ].join('\n'),
    },
    caught: [
      'src/services/sample.ts → ../slack/escape.js',
      'src/services/sample.ts → ../slack-web/notifier.js (type-only)',
      'src/services/sample.ts → ../store/dynamo-store.js',
      'src/services/sample.ts → @slack/web-api (type-only)',
    ],
  }),
  importRule({
    name: 'handlers import nothing from src/aws, src/store or @aws-sdk',
    from: (path) => under(path, 'handlers/'),
    forbids: (imp) => under(imp.target, 'src/aws/', 'src/store/') || isPackage(imp.target, '@aws-sdk'),
    sample: {
      'handlers/commands/sample.ts': [
        "import type { DynamoStore } from '../../src/store/dynamo-store.js';",
        "import { IamGateway } from '../../src/aws/iam.js';",
        "import { S3Client } from '@aws-sdk/client-s3';",
        "import { RequestService } from '../../src/services/request-service.js';",
      ].join('\n'),
    },
    caught: [
      'handlers/commands/sample.ts → ../../src/store/dynamo-store.js (type-only)',
      'handlers/commands/sample.ts → ../../src/aws/iam.js',
      'handlers/commands/sample.ts → @aws-sdk/client-s3',
    ],
  }),
  importRule({
    name: 'only src/aws imports @aws-sdk/client-iam or client-sts (src/deps.ts: client constructors only)',
    from: (path) => under(path, 'src/', 'handlers/', 'playground/'),
    forbids: (imp, file) => isPackage(imp.target, ...IAM_SDK) && !under(file, 'src/aws/') && !SDK_IMPORT_EXCEPTIONS[file]?.(imp),
    sample: {
      'src/deps.ts': "import { IAMClient, GetUserCommand } from '@aws-sdk/client-iam';\nimport { STSClient } from '@aws-sdk/client-sts';",
      'src/aws/sample.ts': "import { GetUserCommand } from '@aws-sdk/client-iam';",
      'src/doctor/sample.ts': "import type { IAMClient } from '@aws-sdk/client-iam';\nexport { GetCallerIdentityCommand } from '@aws-sdk/client-sts';",
    },
    caught: ['src/deps.ts → @aws-sdk/client-iam', 'src/doctor/sample.ts → @aws-sdk/client-iam (type-only)', 'src/doctor/sample.ts → @aws-sdk/client-sts'],
  }),
  importRule({
    name: 'src/slack imports no Slack package but @slack/types (Web API callers live in src/slack-web)',
    from: (path) => under(path, 'src/slack/'),
    forbids: (imp) => isPackage(imp.target, '@slack') && !isPackage(imp.target, '@slack/types'),
    sample: {
      'src/slack/sample.ts': [
        "import type { WebClient } from '@slack/web-api';",
        "import type { KnownBlock } from '@slack/types';",
        "import { App } from '@slack/bolt';",
      ].join('\n'),
    },
    caught: ['src/slack/sample.ts → @slack/web-api (type-only)', 'src/slack/sample.ts → @slack/bolt'],
  }),
  {
    name: 'only src/config.ts reads process.env in src and handlers (src/sdk-node-warning.ts sets the AWS SDK’s own switch)',
    from: (path) => under(path, 'src/', 'handlers/') && path !== 'src/config.ts' && path !== 'src/sdk-node-warning.ts',
    offences: (file) => [
      ...file.envReads.map((line) => `${file.path}:${line} → process.env`),
      ...file.imports.filter((imp) => isPackage(imp.target, 'process', 'node:process') && imp.names.includes('env')).map((imp) => arrow(file, imp)),
    ],
    sample: {
      'src/config.ts': 'export const env = process.env;',
      'src/services/sample.ts': "const a = process.env.SLACK_BOT_TOKEN;\nconst b = process['env'];\nconst c = other.env;",
      'handlers/sample.ts': "import { env } from 'node:process';",
    },
    caught: ['src/services/sample.ts:1 → process.env', 'src/services/sample.ts:2 → process.env', 'handlers/sample.ts → node:process'],
  },
  {
    name: 'only the composition roots (src/deps.ts, src/bot.ts, the work thread, the client and schedule makers, the CLI entry points) build SDK clients, the Slack client and schedules',
    from: (path) => under(path, 'src/', 'handlers/') && !COMPOSITION_ROOTS.some((root) => (root.endsWith('/') ? under(path, root) : path === root)),
    offences: (file) => file.builds.map((built) => `${file.path}:${built.split(':')[1]} → new ${built.split(':')[0]}`),
    sample: {
      'src/deps.ts': "const iam = new IAMClient({});\nconst cron = new Cron('0 9 * * 1');",
      'src/services/sample.ts': "const slack = new WebClient('xoxb');\nconst when = new Cron('0 9 * * 1', { paused: true });\nconst at = new Date();",
      'handlers/sample.ts': 'const ddb = new DynamoDBClient({});',
    },
    caught: ['src/services/sample.ts:1 → new WebClient', 'src/services/sample.ts:2 → new Cron', 'handlers/sample.ts:1 → new DynamoDBClient'],
  },
  importRule({
    name: 'bench imports nothing from test/ (the shared rig is testkit/)',
    from: (path) => under(path, 'bench/'),
    forbids: (imp) => under(imp.target, 'test/'),
    sample: { 'bench/sample.ts': "import { harness } from '../test/support/harness.js';\nimport { startMoto } from '../testkit/moto.js';" },
    caught: ['bench/sample.ts → ../test/support/harness.js'],
  }),
  importRule({
    name: 'src and handlers import nothing from test/, testkit/, bench/ or playground/',
    from: (path) => under(path, 'src/', 'handlers/'),
    forbids: (imp) => under(imp.target, 'test/', 'testkit/', 'bench/', 'playground/'),
    sample: {
      'src/sample.ts': [
        "import { harness } from '../test/support/harness.js';",
        "import { startMoto } from '../testkit/moto.js';",
        "import type { Rig } from '../bench/rig.js';",
        "import { SlackStandIn } from '../playground/slack-standin.js';",
        "import { loadConfig } from './config.js';",
      ].join('\n'),
    },
    caught: [
      'src/sample.ts → ../test/support/harness.js',
      'src/sample.ts → ../testkit/moto.js',
      'src/sample.ts → ../bench/rig.js (type-only)',
      'src/sample.ts → ../playground/slack-standin.js',
    ],
  }),
  importRule({
    name: 'every import names its module as a literal (but the optional load of level by the embedded-store probe)',
    from: (path) => !COMPUTED_IMPORT_EXCEPTIONS.includes(path),
    forbids: (imp) => imp.computed,
    sample: { 'src/sample.ts': "const name = 'yaml';\nawait import(name);\nawait import('./literal.js');" },
    caught: ['src/sample.ts → import(name)'],
  }),
];

function offences(rule: Rule, files: ParsedFile[]): string[] {
  return files.filter((file) => rule.from(file.path)).flatMap((file) => rule.offences(file));
}

describe('architecture: the import arrows of the layout', () => {
  const tree = scanTree();

  it('the walker reads every scanned folder and finds a plausible number of imports', () => {
    for (const folder of SCANNED) expect(tree.filter((f) => f.path.startsWith(`${folder}/`)).length, folder).toBeGreaterThan(3);
    expect(tree.flatMap((f) => f.imports).length).toBeGreaterThan(200);
    expect(tree.find((f) => f.path === 'src/config.ts')?.envReads.length).toBeGreaterThan(0);
  });

  for (const rule of RULES) {
    it(rule.name, () => {
      const found = offences(rule, tree);
      expect(found, `${rule.name}; offending file → import:\n${found.join('\n')}`).toEqual([]);
    });

    it(`${rule.name}: catches its sample, and speaks about real files`, () => {
      const sample = Object.entries(rule.sample).map(([path, text]) => parseFile(path, text));
      expect(offences(rule, sample)).toEqual(rule.caught);
      expect(tree.some((f) => rule.from(f.path))).toBe(true);
    });
  }
});

describe('architecture: the README layout list', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8').split('\n');
  const start = readme.findIndex((line) => line.startsWith('- Layout'));
  const end = readme.findIndex((line, i) => i > start && !line.startsWith('  '));
  const layout = readme.slice(start, end === -1 ? undefined : end).join('\n');

  it('names every top-level folder and every entry of src/', () => {
    expect(start, 'README.md has a "- Layout" bullet').toBeGreaterThanOrEqual(0);
    const ignored = readFileSync(join(ROOT, '.gitignore'), 'utf8')
      .split('\n')
      .filter((line) => line.endsWith('/'))
      .map((line) => line.slice(0, -1));
    const folders = readdirSync(ROOT, { withFileTypes: true })
      .filter((e) => e.isDirectory() && !e.name.startsWith('.') && !ignored.includes(e.name))
      .map((e) => `${e.name}/`);
    const srcEntries = readdirSync(join(ROOT, 'src'), { withFileTypes: true })
      .filter((e) => e.isDirectory() || e.name.endsWith('.ts'))
      .map((e) => (e.isDirectory() ? `src/${e.name}/` : `src/${e.name}`));
    const missing = [...folders, ...srcEntries].filter((name) => !layout.includes(`\`${name}\``));
    expect(missing, `README.md's Layout list does not name: ${missing.join(', ')}`).toEqual([]);
  });
});

/**
 * What a module loads with it: every file and package reached through static value imports
 * (type-only imports and `import('…')` left out), each with the chain of files that leads there.
 */
function staticClosure(files: ParsedFile[], entry: string): Map<string, string[]> {
  const byPath = new Map(files.map((file) => [file.path, file]));
  const reached = new Map<string, string[]>([[entry, [entry]]]);
  const queue = [entry];
  for (let path = queue.shift(); path !== undefined; path = queue.shift()) {
    const chain = reached.get(path) ?? [];
    for (const imp of byPath.get(path)?.imports ?? []) {
      if (imp.typeOnly || imp.dynamic || reached.has(imp.target)) continue;
      reached.set(imp.target, [...chain, imp.target]);
      if (byPath.has(imp.target)) queue.push(imp.target);
    }
  }
  return reached;
}

interface ClosureRule {
  name: string;
  entries: string[];
  forbids: (target: string) => boolean;
  sample: Record<string, string>;
  /** The entry and the chain to each forbidden module the sample reaches. */
  caught: string[];
}

/** What the thread that answers Slack must not load: the store, the bot's IAM and DynamoDB clients and the deps that build them. */
const ANSWERING_NEVER = (target: string) =>
  target === 'src/deps.ts' || under(target, 'src/store/') || isPackage(target, '@aws-sdk/client-iam', '@aws-sdk/client-dynamodb', '@aws-sdk/lib-dynamodb');

const CLOSURE_RULES: ClosureRule[] = [
  {
    name: 'the thread that answers Slack (npm start, the threaded bot) loads neither the store, nor the IAM and DynamoDB clients, nor src/deps.ts',
    entries: ['src/main.ts', 'src/bot.ts'],
    forbids: ANSWERING_NEVER,
    sample: {
      'src/main.ts':
        "import type { Built } from './deps.js';\nimport { startAnswering } from './answering.js';\nconst later = () => import('./bot-one-thread.js');",
      'src/answering.ts': "import { registerHandlers } from '../handlers/index.js';\nimport { Client } from '@aws-sdk/client-sts';",
      'handlers/index.ts': "import { DynamoStore } from '../src/store/dynamo-store.js';",
      'src/bot-one-thread.ts': "import { buildDeps } from './deps.js';",
      'src/bot.ts': "export { IAMClient } from '@aws-sdk/client-iam';",
    },
    caught: ['src/main.ts: src/main.ts → src/answering.ts → handlers/index.ts → src/store/dynamo-store.ts', 'src/bot.ts: src/bot.ts → @aws-sdk/client-iam'],
  },
  {
    name: 'the work thread does not load Bolt',
    entries: ['src/work-thread.ts'],
    forbids: (target) => isPackage(target, '@slack/bolt'),
    sample: {
      'src/work-thread.ts': "import { slackClients } from './slack-clients.js';\nimport type { App } from '@slack/bolt';",
      'src/slack-clients.ts': "import { LogLevel } from '@slack/bolt';",
    },
    caught: ['src/work-thread.ts: src/work-thread.ts → src/slack-clients.ts → @slack/bolt'],
  },
];

function closureOffences(rule: ClosureRule, files: ParsedFile[]): string[] {
  return rule.entries.flatMap((entry) =>
    [...staticClosure(files, entry)].filter(([target]) => rule.forbids(target)).map(([, chain]) => `${entry}: ${chain.join(' → ')}`),
  );
}

describe('architecture: what each thread loads', () => {
  const tree = scanTree();

  it('the walk follows the real entry points into handlers and packages', () => {
    const answering = staticClosure(tree, 'src/main.ts');
    expect(answering.has('@slack/bolt')).toBe(false);
    expect(staticClosure(tree, 'src/bot.ts').has('@slack/bolt')).toBe(true);
    expect(staticClosure(tree, 'src/bot.ts').has('handlers/index.ts')).toBe(true);
    expect(staticClosure(tree, 'src/work-thread.ts').has('@aws-sdk/client-iam')).toBe(true);
  });

  for (const rule of CLOSURE_RULES) {
    it(rule.name, () => {
      const found = closureOffences(rule, tree);
      expect(found, `${rule.name}; entry: chain of static imports:\n${found.join('\n')}`).toEqual([]);
    });

    it(`${rule.name}: catches its sample`, () => {
      const sample = Object.entries(rule.sample).map(([path, text]) => parseFile(path, text));
      expect(closureOffences(rule, sample)).toEqual(rule.caught);
    });
  }
});
