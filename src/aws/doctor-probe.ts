/**
 * The AWS reads only doctor makes, never the bot: who the credentials are (STS), the ARN of the
 * role behind an assumed-role session, and IAM policy simulation of a principal. Who the
 * credentials are is asked as the bot asks it at start (src/aws/caller-identity.ts), so a failure
 * reads the same in both; other SDK errors are passed on as they come.
 */
import { GetRoleCommand, type IAMClient, SimulatePrincipalPolicyCommand, type SimulatePrincipalPolicyCommandOutput } from '@aws-sdk/client-iam';
import type { STSClient } from '@aws-sdk/client-sts';
import { type CallerIdentity, lookupCallerIdentity } from './caller-identity.js';

/** One action on one resource, as the simulation decided it (`allowed`, `implicitDeny`, `explicitDeny`). */
export interface SimulatedDecision {
  action: string | undefined;
  /** `*` when IAM named no resource. */
  resource: string;
  decision: string | undefined;
}

export interface DoctorProbe {
  /** sts:GetCallerIdentity (needs no permission); never throws, a failure comes back sorted with its fix. */
  callerIdentity(): Promise<CallerIdentity>;
  /** The ARN of a role (with its path), by iam:GetRole. */
  roleArn(roleName: string): Promise<string | undefined>;
  /** iam:SimulatePrincipalPolicy of every action on every resource, every page read: one decision per pair. */
  simulate(principalArn: string, actions: string[], resources: string[]): Promise<SimulatedDecision[]>;
}

export class AwsDoctorProbe implements DoctorProbe {
  constructor(
    private readonly iam: IAMClient,
    private readonly sts: STSClient,
  ) {}

  callerIdentity(): Promise<CallerIdentity> {
    return lookupCallerIdentity(this.sts);
  }

  async roleArn(roleName: string): Promise<string | undefined> {
    const out = await this.iam.send(new GetRoleCommand({ RoleName: roleName }));
    return out.Role?.Arn;
  }

  async simulate(principalArn: string, actions: string[], resources: string[]): Promise<SimulatedDecision[]> {
    const decisions: SimulatedDecision[] = [];
    let marker: string | undefined;
    do {
      const out: SimulatePrincipalPolicyCommandOutput = await this.iam.send(
        new SimulatePrincipalPolicyCommand({ PolicySourceArn: principalArn, ActionNames: actions, ResourceArns: resources, Marker: marker }),
      );
      for (const result of out.EvaluationResults ?? []) {
        const perResource = result.ResourceSpecificResults?.length
          ? result.ResourceSpecificResults.map((r) => ({ resource: r.EvalResourceName ?? '*', decision: r.EvalResourceDecision }))
          : [{ resource: result.EvalResourceName ?? '*', decision: result.EvalDecision }];
        for (const { resource, decision } of perResource) decisions.push({ action: result.EvalActionName, resource, decision });
      }
      marker = out.IsTruncated ? out.Marker : undefined;
    } while (marker);
    return decisions;
  }
}
