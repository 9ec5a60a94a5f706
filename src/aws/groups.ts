import {
  AttachGroupPolicyCommand,
  CreateGroupCommand,
  EntityAlreadyExistsException,
  type IAMClient,
  paginateListAttachedGroupPolicies,
} from '@aws-sdk/client-iam';

/**
 * `npm run setup -- --groups`: creates a billing group and attaches its managed policy, once.
 * An administrator's action, not the bot's: the bot's own policy has no Create or Attach.
 */
export async function ensureGroup(iam: IAMClient, groupName: string, policyArn: string): Promise<string[]> {
  const done: string[] = [];
  try {
    await iam.send(new CreateGroupCommand({ GroupName: groupName }));
    done.push(`created IAM group ${groupName}`);
  } catch (err) {
    if (!(err instanceof EntityAlreadyExistsException)) throw err;
    done.push(`IAM group ${groupName} exists`);
  }
  const attached: string[] = [];
  for await (const page of paginateListAttachedGroupPolicies({ client: iam }, { GroupName: groupName })) {
    for (const p of page.AttachedPolicies ?? []) if (p.PolicyArn) attached.push(p.PolicyArn);
  }
  if (!attached.includes(policyArn)) {
    await iam.send(new AttachGroupPolicyCommand({ GroupName: groupName, PolicyArn: policyArn }));
    done.push(`attached ${policyArn} to ${groupName}`);
  }
  const others = attached.filter((a) => a !== policyArn);
  if (others.length) done.push(`warning: ${groupName} also holds ${others.join(', ')}; the bot refuses to grant it until they are removed`);
  return done;
}
