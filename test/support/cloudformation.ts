/**
 * Reads a CloudFormation YAML template (short-form tags such as `!Sub` and `!If` included) and
 * renders it for given parameter values: intrinsic functions and conditions are evaluated the
 * way CloudFormation would, so a test can look at the policy a stack would really get.
 */
import { parse, type Tags } from 'yaml';

const FUNCTIONS = [
  'Ref',
  'Condition',
  'Sub',
  'GetAtt',
  'If',
  'Equals',
  'Not',
  'And',
  'Or',
  'Split',
  'Select',
  'Join',
  'FindInMap',
  'Base64',
  'GetAZs',
  'ImportValue',
];
const longName = (fn: string) => (fn === 'Ref' || fn === 'Condition' ? fn : `Fn::${fn}`);

/** `!Ref X` → `{ Ref: 'X' }`, `!GetAtt A.B` → `{ 'Fn::GetAtt': ['A', 'B'] }`, `!If [c, a, b]` → `{ 'Fn::If': [c, a, b] }`, … */
const CLOUDFORMATION_TAGS: Tags = FUNCTIONS.flatMap((fn) => [
  {
    tag: `!${fn}`,
    resolve: (value: string) => {
      const dot = value.indexOf('.');
      return { [longName(fn)]: fn === 'GetAtt' && dot > 0 ? [value.slice(0, dot), value.slice(dot + 1)] : value };
    },
  },
  { tag: `!${fn}`, collection: 'seq' as const, resolve: (seq: { toJSON(): unknown }) => ({ [longName(fn)]: seq.toJSON() }) },
  { tag: `!${fn}`, collection: 'map' as const, resolve: (map: { toJSON(): unknown }) => ({ [longName(fn)]: map.toJSON() }) },
]) as Tags;

export interface Template {
  Parameters?: Record<string, { Type: string; Default?: string; AllowedPattern?: string; AllowedValues?: string[] }>;
  Conditions?: Record<string, unknown>;
  Resources: Record<string, { Type: string; Condition?: string; DeletionPolicy?: string; UpdateReplacePolicy?: string; Properties?: Record<string, unknown> }>;
  Outputs?: Record<string, { Value: unknown }>;
}

export function parseTemplate(text: string): Template {
  return parse(text, { customTags: CLOUDFORMATION_TAGS }) as Template;
}

export interface RenderOptions {
  parameters?: Record<string, string>;
  accountId?: string;
  region?: string;
  partition?: string;
}

const NO_VALUE = Symbol('AWS::NoValue');

/** The template's resources (those whose Condition holds), with every intrinsic function evaluated. */
export function render(template: Template, options: RenderOptions = {}): Record<string, { Type: string; Properties: Record<string, unknown> }> {
  const pseudo: Record<string, string> = {
    'AWS::AccountId': options.accountId ?? '123456789012',
    'AWS::Region': options.region ?? 'us-east-1',
    'AWS::Partition': options.partition ?? 'aws',
    'AWS::StackName': 'billing-access-bot',
  };
  const params: Record<string, string> = {};
  for (const [name, p] of Object.entries(template.Parameters ?? {})) {
    const value = options.parameters?.[name] ?? p.Default;
    if (value === undefined) throw new Error(`parameter ${name} has no default and no value`);
    if (p.AllowedValues && !p.AllowedValues.includes(value)) throw new Error(`parameter ${name}: ${value} is not one of ${p.AllowedValues.join(', ')}`);
    if (p.AllowedPattern && !new RegExp(`^(?:${p.AllowedPattern})$`).test(value))
      throw new Error(`parameter ${name}: ${value} does not match ${p.AllowedPattern}`);
    params[name] = value;
  }
  for (const name of Object.keys(options.parameters ?? {})) if (!(name in params)) throw new Error(`the template has no parameter ${name}`);

  const resourceRef = (name: string, attribute?: string): string => {
    const resource = template.Resources[name];
    if (!resource) throw new Error(`no resource ${name}`);
    const props = resource.Properties ?? {};
    const { 'AWS::Partition': partition, 'AWS::Region': region, 'AWS::AccountId': account } = pseudo;
    switch (resource.Type) {
      case 'AWS::DynamoDB::Table': {
        const tableName = String(evaluate(props.TableName));
        if (!attribute) return tableName;
        if (attribute === 'Arn') return `arn:${partition}:dynamodb:${region}:${account}:table/${tableName}`;
        break;
      }
      case 'AWS::IAM::ManagedPolicy':
        if (!attribute) return `arn:${partition}:iam::${account}:policy/${name}`;
        break;
      case 'AWS::IAM::Group': {
        const groupName = String(evaluate(props.GroupName));
        if (!attribute) return groupName;
        if (attribute === 'Arn') return `arn:${partition}:iam::${account}:group/${groupName}`;
        break;
      }
    }
    throw new Error(`cannot render ${attribute ? `!GetAtt ${name}.${attribute}` : `!Ref ${name}`} (${resource.Type})`);
  };

  const ref = (name: string): unknown => {
    if (name === 'AWS::NoValue') return NO_VALUE;
    if (name in pseudo) return pseudo[name];
    if (name in params) return params[name];
    return resourceRef(name);
  };

  const conditionCache = new Map<string, boolean>();
  const condition = (name: string): boolean => {
    const cached = conditionCache.get(name);
    if (cached !== undefined) return cached;
    const body = template.Conditions?.[name];
    if (body === undefined) throw new Error(`no condition ${name}`);
    const value = evaluate(body);
    if (typeof value !== 'boolean') throw new Error(`condition ${name} is not a boolean`);
    conditionCache.set(name, value);
    return value;
  };

  const sub = (text: string, vars: Record<string, unknown>): string =>
    text.replace(/\$\{(!?)([^}]+)\}/g, (_all, literal: string, name: string) => {
      if (literal) return `\${${name}}`;
      if (name in vars) return String(vars[name]);
      const dot = name.indexOf('.');
      if (dot > 0 && !name.startsWith('AWS::')) return resourceRef(name.slice(0, dot), name.slice(dot + 1));
      return String(ref(name));
    });

  function evaluate(node: unknown): unknown {
    if (Array.isArray(node)) return node.map(evaluate).filter((v) => v !== NO_VALUE);
    if (node === null || typeof node !== 'object') return node;
    const entries = Object.entries(node);
    const [key, arg] = entries[0] ?? [];
    if (entries.length === 1 && key !== undefined && (key === 'Ref' || key === 'Condition' || key.startsWith('Fn::'))) {
      const args = arg as unknown[];
      switch (key) {
        case 'Ref':
          return ref(String(arg));
        case 'Condition':
          return condition(String(arg));
        case 'Fn::If':
          return condition(String(args[0])) ? evaluate(args[1]) : evaluate(args[2]);
        case 'Fn::Equals':
          return String(evaluate(args[0])) === String(evaluate(args[1]));
        case 'Fn::Not':
          return !evaluate(args[0]);
        case 'Fn::And':
          return args.every((a) => evaluate(a) === true);
        case 'Fn::Or':
          return args.some((a) => evaluate(a) === true);
        case 'Fn::Split':
          return String(evaluate(args[1])).split(String(args[0]));
        case 'Fn::Join':
          return (evaluate(args[1]) as unknown[]).join(String(args[0]));
        case 'Fn::Select': {
          const list = evaluate(args[1]) as unknown[];
          const index = Number(evaluate(args[0]));
          if (!(index >= 0 && index < list.length)) throw new Error(`Fn::Select index ${index} out of range (${list.length} items)`);
          return list[index];
        }
        case 'Fn::Sub':
          if (typeof arg === 'string') return sub(arg, {});
          return sub(String(args[0]), Object.fromEntries(Object.entries((args[1] ?? {}) as Record<string, unknown>).map(([k, v]) => [k, evaluate(v)])));
        case 'Fn::GetAtt':
          return resourceRef(String(args[0]), String(args[1]));
        default:
          throw new Error(`the test renderer does not know ${key}`);
      }
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of entries) {
      const value = evaluate(v);
      if (value !== NO_VALUE) out[k] = value;
    }
    return out;
  }

  const rendered: Record<string, { Type: string; Properties: Record<string, unknown> }> = {};
  for (const [name, resource] of Object.entries(template.Resources)) {
    if (resource.Condition && !condition(resource.Condition)) continue;
    rendered[name] = { Type: resource.Type, Properties: evaluate(resource.Properties ?? {}) as Record<string, unknown> };
  }
  return rendered;
}
