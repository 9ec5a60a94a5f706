/**
 * What can happen to the bot, as fast-check commands: people's commands and clicks (from the
 * right channel or not), sweeps, the clock moving, IAM faults, hand edits of a group, MFA
 * and Slack accounts changing, and two actions racing. Every command runs the real service
 * and then the invariants; a refusal is a normal outcome, any other error fails the test.
 */
import fc from 'fast-check';
import { BillingAccessError } from '../../../src/errors.js';
import { type FaultTiming, type IamOperation, InjectedIamFault } from './iam-world.js';
import { checkInvariants } from './invariants.js';
import { ACTORS, type ActorName, ADMIN_CHANNEL, IAM_USERS, LEVELS, type Level, OTHER_CHANNEL, TEAM, type World } from './world.js';

/** The model the commands share: only what the real system cannot tell us. */
export interface Model {
  steps: number;
}

/** Refusals (domain errors) and the injected IAM faults are outcomes; anything else is a defect. */
async function attempt(world: World, action: () => Promise<unknown>): Promise<void> {
  try {
    await action();
  } catch (err) {
    if (!(err instanceof BillingAccessError || err instanceof InjectedIamFault)) throw err;
    const kind = /own, so you cannot/.test(err.message) ? 'refused: own IAM user' : `refused: ${err.name}`;
    world.refusals.set(kind, (world.refusals.get(kind) ?? 0) + 1);
  }
}

abstract class Step implements fc.AsyncCommand<Model, World> {
  check(): boolean {
    return true;
  }
  abstract act(world: World): Promise<void>;
  abstract toString(): string;
  protected cleanSweep(): boolean {
    return false;
  }
  async run(model: Model, world: World): Promise<void> {
    model.steps += 1;
    const faultsBefore = world.iam.faultsFired;
    await this.act(world);
    await checkInvariants(world, { cleanSweep: this.cleanSweep() && world.iam.faultsFired === faultsBefore && !world.iam.faultArmed });
  }
}

/** The request picked by a number counted from the newest: any request in the table, so clicks land on every state, mostly recent ones. */
async function pick(world: World, index: number): Promise<string> {
  const all = await world.allRequests();
  return all.length ? (all[all.length - 1 - (index % all.length)]?.id ?? '') : '01J00000000000000000000000';
}

class Request extends Step {
  constructor(
    readonly who: ActorName,
    readonly level: Level,
    readonly days: number,
    readonly breakGlass: boolean,
  ) {
    super();
  }
  async act(world: World): Promise<void> {
    await attempt(world, () =>
      world.services.requests.submit({
        userId: ACTORS[this.who].id,
        teamId: TEAM,
        level: this.level,
        durationDays: this.days,
        justification: 'model-based check of the grant rules',
        breakGlass: this.breakGlass,
      }),
    );
  }
  toString() {
    return `${this.who} asks ${this.level} ${this.breakGlass ? 'break-glass' : `${this.days}d`}`;
  }
}

type ClickKind = 'approve' | 'deny' | 'retry' | 'keep';

/** The newest pending extension request, for the click that races an expiry. */
async function pendingExtension(world: World): Promise<string> {
  const pending = (await world.store.listByStatus('PENDING')).filter((r) => r.extendsRequestId);
  return pending.at(-1)?.id ?? '01J00000000000000000000000';
}

class Click extends Step {
  constructor(
    readonly who: ActorName,
    readonly kind: ClickKind,
    /** A request picked from the newest, or the newest pending extension. */
    readonly index: number | 'pending-extension',
    readonly inAdminChannel: boolean,
  ) {
    super();
  }
  async act(world: World): Promise<void> {
    const requestId = this.index === 'pending-extension' ? await pendingExtension(world) : await pick(world, this.index);
    const click = { userId: ACTORS[this.who].id, channelId: this.inAdminChannel ? ADMIN_CHANNEL : OTHER_CHANNEL, requestId };
    const { decisions, summaries } = world.services;
    await attempt(world, () => {
      switch (this.kind) {
        case 'approve':
          return decisions.approve(click);
        case 'deny':
          return decisions.deny(click, 'not needed');
        case 'retry':
          return decisions.retry(click);
        default:
          return summaries.keep(click);
      }
    });
  }
  toString() {
    const target = this.index === 'pending-extension' ? 'the newest pending extension' : `#${this.index}`;
    return `${this.who} clicks ${this.kind} on ${target}${this.inAdminChannel ? '' : ' outside the admin channel'}`;
  }
}

class Cancel extends Step {
  constructor(
    readonly who: ActorName,
    readonly index: number,
  ) {
    super();
  }
  async act(world: World): Promise<void> {
    const id = await pick(world, this.index);
    await attempt(world, () => world.services.requests.cancel(ACTORS[this.who].id, id));
  }
  toString() {
    return `${this.who} cancels #${this.index}`;
  }
}

class Revoke extends Step {
  constructor(
    readonly who: ActorName,
    readonly target: { user: ActorName } | { index: number },
    readonly inAdminChannel: boolean,
  ) {
    super();
  }
  async act(world: World): Promise<void> {
    const target = 'user' in this.target ? { userId: ACTORS[this.target.user].id } : { requestId: await pick(world, this.target.index) };
    await attempt(world, () => world.services.lifecycle.revoke(ACTORS[this.who].id, target, this.inAdminChannel ? ADMIN_CHANNEL : OTHER_CHANNEL));
  }
  toString() {
    return `${this.who} revokes ${'user' in this.target ? this.target.user : `#${this.target.index}`}${this.inAdminChannel ? '' : ' outside the admin channel'}`;
  }
}

class Done extends Step {
  constructor(
    readonly who: ActorName,
    readonly level: Level | undefined,
  ) {
    super();
  }
  async act(world: World): Promise<void> {
    await attempt(world, () => world.services.lifecycle.done(ACTORS[this.who].id, this.level));
  }
  toString() {
    return `${this.who} is done with ${this.level ?? 'everything'}`;
  }
}

class Link extends Step {
  constructor(
    readonly who: ActorName,
    readonly target: ActorName,
    readonly iamUser: string,
  ) {
    super();
  }
  async act(world: World): Promise<void> {
    await attempt(world, () => world.services.requests.link(ACTORS[this.who].id, ADMIN_CHANNEL, ACTORS[this.target].id, this.iamUser));
  }
  toString() {
    return `${this.who} links ${this.target} to ${this.iamUser}`;
  }
}

/** Every story ends with a sweep, so each ends with the table and IAM checked against each other. */
export async function finalSweep(model: Model, world: World): Promise<void> {
  world.iam.disarm();
  await new Sweep().run(model, world);
}

class Sweep extends Step {
  async act(world: World): Promise<void> {
    await world.services.sweeper.sweep();
  }
  protected override cleanSweep(): boolean {
    return true;
  }
  toString() {
    return 'sweep';
  }
}

class Jump extends Step {
  constructor(readonly hours: number) {
    super();
  }
  async act(world: World): Promise<void> {
    world.clock.advanceHours(this.hours);
  }
  toString() {
    return this.hours < 1 ? `+${Math.round(this.hours * 60)} min` : `+${this.hours} h`;
  }
}

class Fault extends Step {
  constructor(
    readonly op: IamOperation,
    readonly timing: FaultTiming,
  ) {
    super();
  }
  async act(world: World): Promise<void> {
    world.iam.arm(this.op, this.timing);
  }
  toString() {
    return `the next IAM ${this.op} fails ${this.timing} it applies`;
  }
}

class HandEdit extends Step {
  constructor(
    readonly change: 'add' | 'remove',
    readonly iamUser: string,
    readonly level: Level,
  ) {
    super();
  }
  async act(world: World): Promise<void> {
    world.iam.handEdit(this.change, this.iamUser, LEVELS[this.level]);
  }
  toString() {
    return `a human ${this.change === 'add' ? 'adds' : 'removes'} ${this.iamUser} ${this.change === 'add' ? 'to' : 'from'} ${LEVELS[this.level]}`;
  }
}

class Mfa extends Step {
  constructor(
    readonly iamUser: string,
    readonly on: boolean,
  ) {
    super();
  }
  async act(world: World): Promise<void> {
    world.iam.setMfa(this.iamUser, this.on);
  }
  toString() {
    return `${this.iamUser} MFA ${this.on ? 'added' : 'removed'}`;
  }
}

class Deactivate extends Step {
  constructor(
    readonly who: ActorName,
    readonly deleted: boolean,
  ) {
    super();
  }
  async act(world: World): Promise<void> {
    world.setDeactivated(this.who, this.deleted);
  }
  toString() {
    return `${this.who}'s Slack account ${this.deleted ? 'deactivated' : 'reactivated'}`;
  }
}

/** Steps one after the other, as one side of a race (time passing, then a sweep, while an approval is still at IAM). */
class Sequence extends Step {
  constructor(readonly steps: Step[]) {
    super();
  }
  async act(world: World): Promise<void> {
    for (const step of this.steps) await step.act(world);
  }
  toString() {
    return this.steps.join(' then ');
  }
}

/** Two actions at once: the services interleave at every await, as two replicas or two clicks would. */
class Race extends Step {
  constructor(
    readonly a: Step,
    readonly b: Step,
    /** How many turns each store or IAM call waits, in the order the calls come: the interleaving. */
    readonly waits: number[],
  ) {
    super();
  }
  async act(world: World): Promise<void> {
    await world.race(this.waits, [() => this.a.act(world), () => this.b.act(world)]);
  }
  /** Once both are done nothing is in flight: a race with a sweep in it ends where a sweep does. */
  protected override cleanSweep(): boolean {
    const sweeps = (step: Step) => step instanceof Sweep || (step instanceof Sequence && step.steps.some((s) => s instanceof Sweep));
    return sweeps(this.a) || sweeps(this.b);
  }
  toString() {
    return `race(${this.a} | ${this.b}; waits ${this.waits.join(',')})`;
  }
}

const actor = fc.constantFrom(...(Object.keys(ACTORS) as ActorName[]));
/** Mostly admins, sometimes someone who is not. */
const clicker = fc.constantFrom<ActorName>('alice', 'bob', 'carol', 'aliceAlt', 'dave', 'alice', 'bob', 'carol', 'bob', 'jane');
const level = fc.constantFrom<Level>('read-only', 'full');
const index = fc.oneof(fc.nat(2), fc.nat(2), fc.nat(30));
const adminChannel = fc.constantFrom(true, true, true, true, true, true, true, true, true, false);
/** IAM user names as an admin might type them, cases included. */
const typedIamUser = fc.constantFrom(...IAM_USERS, 'JANE.DOE', 'joe.smith', 'Alice.Admin');

/** Mostly the two employees, whose IAM users exist; now and then everyone else. */
const requester = fc.oneof(fc.constantFrom<ActorName>('jane', 'jane', 'joe', 'alice', 'daveAlt'), actor);
const request = fc
  .tuple(requester, level, fc.constantFrom(1, 3, 7, 30), fc.constantFrom(false, false, false, false, false, true))
  .map(([who, l, days, bg]) => new Request(who, l, days, bg));
const click = fc
  .tuple(clicker, fc.constantFrom<ClickKind>('approve', 'approve', 'approve', 'deny', 'retry', 'retry', 'keep'), index, adminChannel)
  .map(([who, kind, i, inAdmin]) => new Click(who, kind, i, inAdmin));
const revoke = fc
  .tuple(
    clicker,
    fc.oneof(
      actor.map((user) => ({ user })),
      index.map((i) => ({ index: i })),
    ),
    adminChannel,
  )
  .map(([who, target, inAdmin]) => new Revoke(who, target, inAdmin));
const done = fc.tuple(actor, fc.option(level, { nil: undefined })).map(([who, l]) => new Done(who, l));
const cancel = fc.tuple(actor, index).map(([who, i]) => new Cancel(who, i));
const link = fc.tuple(clicker, actor, typedIamUser).map(([who, target, iam]) => new Link(who, target, iam));
/** The escalation the rules must stop: an admin's second account pinned to the admin's own IAM user, by them or by another admin. */
const secondAccount = fc.oneof(
  fc
    .tuple(fc.constantFrom<ActorName>('alice', 'bob', 'carol'), fc.constantFrom('alice.admin', 'Alice.Admin'))
    .map(([who, iam]) => new Link(who, 'aliceAlt', iam)),
  fc.constantFrom<ActorName>('dave', 'dave', 'bob').map((who) => new Link(who, 'daveAlt', 'dave.ops')),
);
const sweep = fc.constant(null).map(() => new Sweep());
const jump = fc.constantFrom(1, 1, 3, 5, 5, 13, 25, 24 * 8).map((h) => new Jump(h));
const fault = fc
  .tuple(fc.constantFrom<IamOperation>('getUser', 'add', 'remove'), fc.constantFrom<FaultTiming>('before', 'after'))
  .map(([op, timing]) => new Fault(op, timing));
const handEdit = fc.tuple(fc.constantFrom<'add' | 'remove'>('add', 'remove'), fc.constantFrom(...IAM_USERS), level).map(([c, u, l]) => new HandEdit(c, u, l));
const mfa = fc.tuple(fc.constantFrom(...IAM_USERS), fc.boolean()).map(([u, on]) => new Mfa(u, on));
const deactivate = fc.tuple(actor, fc.boolean()).map(([who, d]) => new Deactivate(who, d));
const racing = fc.oneof(request, click, revoke, done, sweep, cancel);
const waits = fc.array(fc.nat(6), { minLength: 1, maxLength: 12 });
const race = fc.tuple(racing, racing, waits).map(([a, b, w]) => new Race(a, b, w));
/** A slow approval: while its IAM call is out, time passes and a sweep comes to finish what looks stuck. */
const slowApproval = fc
  .tuple(fc.constantFrom<ActorName>('alice', 'bob', 'carol'), index, fc.constantFrom(1 / 60, 2 / 60, 5 / 60), waits)
  .map(([who, i, hours, w]) => new Race(new Click(who, 'approve', i, true), new Sequence([new Jump(hours), new Sweep()]), w));
/** An expiry sweep racing the approval of an extension of the grant it is ending (PRODUCT §1: the table is the truth). */
const extensionRace = fc
  .tuple(fc.constantFrom<ActorName>('alice', 'bob', 'carol'), waits)
  .map(([who, w]) => new Race(new Sweep(), new Click(who, 'approve', 'pending-extension', true), w));

/** Weighted toward what moves grants: requests, approvals, time and sweeps (an entry listed twice comes twice as often). */
export const commands = [
  ...Array<typeof request>(4).fill(request),
  ...Array<typeof click>(6).fill(click),
  revoke,
  done,
  cancel,
  link,
  secondAccount,
  ...Array<typeof sweep>(3).fill(sweep),
  ...Array<typeof jump>(3).fill(jump),
  fault,
  handEdit,
  mfa,
  deactivate,
  race,
  race,
  extensionRace,
  extensionRace,
  slowApproval,
];
