/**
 * Reads the bot's own source with the TypeScript parser (so comments, strings and line breaks
 * cannot hide or fake a call) and lists what it calls outside: Slack Web API methods and AWS
 * SDK operations. The deploy files are checked against these lists.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface SourceFile {
  /** Relative to the repository root, with forward slashes. */
  path: string;
  ast: ts.SourceFile;
}

/** One file's text, parsed (for checking the scanners themselves). */
export function parseSource(path: string, text: string): SourceFile {
  return { path, ast: ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true) };
}

/** Every .ts file (not .d.ts) under the given folders of the repository. */
export function sourceFiles(...folders: string[]): SourceFile[] {
  const out: SourceFile[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const full = join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) {
        out.push(parseSource(relative(ROOT, full).split('\\').join('/'), readFileSync(full, 'utf8')));
      }
    }
  };
  for (const folder of folders) walk(join(ROOT, folder));
  return out;
}

function visit(node: ts.Node, fn: (node: ts.Node) => void): void {
  fn(node);
  ts.forEachChild(node, (child) => visit(child, fn));
}

const lineOf = (file: SourceFile, node: ts.Node) => file.ast.getLineAndCharacterOfPosition(node.getStart(file.ast)).line + 1;

/** `a.b.c` → ['a', 'b', 'c'] (this counts as a name), or undefined for anything not a plain property chain. */
function propertyChain(expr: ts.Expression): string[] | undefined {
  if (ts.isIdentifier(expr)) return [expr.text];
  if (expr.kind === ts.SyntaxKind.ThisKeyword) return ['this'];
  if (ts.isPropertyAccessExpression(expr)) {
    const head = propertyChain(expr.expression);
    return head ? [...head, expr.name.text] : undefined;
  }
  return undefined;
}

/** The method families of the Slack Web API (the first segment of a method name). */
const SLACK_FAMILIES = new Set([
  'admin',
  'apps',
  'assistant',
  'auth',
  'bookmarks',
  'bots',
  'calls',
  'canvases',
  'chat',
  'conversations',
  'dialog',
  'dnd',
  'emoji',
  'files',
  'functions',
  'im',
  'mpim',
  'oauth',
  'openid',
  'pins',
  'reactions',
  'reminders',
  'search',
  'stars',
  'team',
  'usergroups',
  'users',
  'views',
  'workflows',
]);

/** A Web API client's name in this code base: `client`, `this.client`, `slack`, `app.client`, `webClient`… */
const CLIENT_NAME = /client|slack|web/i;

export interface SlackCall {
  method: string;
  file: string;
  line: number;
  /** How it was called: a client's method, `apiCall('…')`, or Bolt's `say()`. */
  via: 'client' | 'apiCall' | 'say';
}

/**
 * Every Slack Web API method the files call: `<client>.chat.postMessage(…)`,
 * `<client>.apiCall('conversations.info', …)` and Bolt's `say(…)` (chat.postMessage).
 * An `apiCall` whose method is not a string literal is reported as method `?` so a test fails on it.
 */
export function slackCalls(files: SourceFile[]): SlackCall[] {
  const calls: SlackCall[] = [];
  for (const file of files) {
    visit(file.ast, (node) => {
      if (!ts.isCallExpression(node)) return;
      const chain = propertyChain(node.expression);
      if (!chain) return;
      const line = lineOf(file, node);
      if (chain.length === 1 && chain[0] === 'say') {
        calls.push({ method: 'chat.postMessage', file: file.path, line, via: 'say' });
        return;
      }
      if (chain.at(-1) === 'apiCall' && chain.length >= 2) {
        const arg = node.arguments[0];
        const method = arg && (ts.isStringLiteral(arg) || ts.isNoSubstitutionTemplateLiteral(arg)) ? arg.text : '?';
        calls.push({ method, file: file.path, line, via: 'apiCall' });
        return;
      }
      const at = chain.findIndex((name, i) => i > 0 && SLACK_FAMILIES.has(name) && CLIENT_NAME.test(chain[i - 1] ?? ''));
      if (at > 0 && chain.length > at + 1) calls.push({ method: chain.slice(at).join('.'), file: file.path, line, via: 'client' });
    });
  }
  return calls;
}

/** The first property of the object literal passed to a call, e.g. `channel` of `chat.postMessage({ channel: userId, … })`. */
export function callArgumentProperty(files: SourceFile[], method: string, property: string): { file: string; line: number; expression: string }[] {
  const found: { file: string; line: number; expression: string }[] = [];
  for (const file of files) {
    visit(file.ast, (node) => {
      if (!ts.isCallExpression(node)) return;
      const chain = propertyChain(node.expression);
      if (!chain?.join('.').endsWith(`.${method}`)) return;
      const arg = node.arguments[0];
      if (!arg || !ts.isObjectLiteralExpression(arg)) return;
      for (const prop of arg.properties) {
        if (ts.isPropertyAssignment(prop) && prop.name.getText(file.ast) === property) {
          found.push({ file: file.path, line: lineOf(file, node), expression: prop.initializer.getText(file.ast) });
        } else if (ts.isShorthandPropertyAssignment(prop) && prop.name.text === property) {
          found.push({ file: file.path, line: lineOf(file, node), expression: prop.name.text });
        }
      }
    });
  }
  return found;
}

/** Property reads `x.<name>` or `x?.<name>` whose object is itself a read of `<object>` (e.g. `profile.email`). */
export function propertyReads(files: SourceFile[], object: string, name: string): { file: string; line: number }[] {
  const found: { file: string; line: number }[] = [];
  for (const file of files) {
    visit(file.ast, (node) => {
      if (!ts.isPropertyAccessExpression(node) || node.name.text !== name) return;
      const inner = node.expression;
      const innerName = ts.isPropertyAccessExpression(inner) ? inner.name.text : ts.isIdentifier(inner) ? inner.text : undefined;
      if (innerName === object) found.push({ file: file.path, line: lineOf(file, node) });
    });
  }
  return found;
}

/** Calls `<receiver>.<method>('<literal>', …)`, e.g. Bolt's `app.command('/request-billing', …)`: the literals. */
export function literalCalls(files: SourceFile[], method: string): { value: string; file: string; line: number }[] {
  const found: { value: string; file: string; line: number }[] = [];
  for (const file of files) {
    visit(file.ast, (node) => {
      if (!ts.isCallExpression(node) || !ts.isPropertyAccessExpression(node.expression) || node.expression.name.text !== method) return;
      const arg = node.arguments[0];
      const value = arg && (ts.isStringLiteral(arg) || ts.isNoSubstitutionTemplateLiteral(arg)) ? arg.text : '?';
      found.push({ value, file: file.path, line: lineOf(file, node) });
    });
  }
  return found;
}

export interface AwsOperation {
  /** The SDK package the command or paginator is imported from, e.g. `@aws-sdk/client-iam`. */
  module: string;
  /** The API operation, e.g. `AddUserToGroup`; for `@aws-sdk/lib-dynamodb`, its own name (`Put`, `Query`). */
  operation: string;
  file: string;
  line: number;
}

/**
 * Every AWS SDK operation the files send: `new XCommand(…)` and `paginateX(…)`, with the package
 * each name is imported from (so a DynamoDB `Query` and an IAM `GetGroup` are told apart).
 */
export function awsOperations(files: SourceFile[]): AwsOperation[] {
  const ops: AwsOperation[] = [];
  for (const file of files) {
    // Each local name with the module it comes from and its name there (`QueryCommand as QueryItemsCommand` is a Query).
    const imported = new Map<string, { module: string; name: string }>();
    for (const statement of file.ast.statements) {
      if (!ts.isImportDeclaration(statement) || !ts.isStringLiteral(statement.moduleSpecifier)) continue;
      const bindings = statement.importClause?.namedBindings;
      if (!bindings || !ts.isNamedImports(bindings)) continue;
      for (const el of bindings.elements) {
        imported.set(el.name.text, { module: statement.moduleSpecifier.text, name: (el.propertyName ?? el.name).text });
      }
    }
    visit(file.ast, (node) => {
      let local: string | undefined;
      if (ts.isNewExpression(node) && ts.isIdentifier(node.expression)) local = node.expression.text;
      else if (ts.isCallExpression(node) && ts.isIdentifier(node.expression)) local = node.expression.text;
      const source = local === undefined ? undefined : imported.get(local);
      if (!source?.module.startsWith('@aws-sdk/')) return;
      let operation: string | undefined;
      if (ts.isNewExpression(node) && /^\w+Command$/.test(source.name)) operation = source.name.slice(0, -'Command'.length);
      else if (ts.isCallExpression(node) && /^paginate[A-Z]\w*$/.test(source.name)) operation = source.name.slice('paginate'.length);
      if (operation) ops.push({ module: source.module, operation, file: file.path, line: lineOf(file, node) });
    });
  }
  return ops;
}
