/**
 * One read of an IAM user for the verdict in src/domain/iam-user.ts: what IAM answered, or
 * the error it gave (the verdict decides whether an unreadable user stops the flow).
 */
import type { IamUserRead } from '../domain/iam-user.js';
import type { IamGateway } from './ports.js';

export async function readIamUser(iam: IamGateway, userName: string): Promise<IamUserRead> {
  try {
    return { user: await iam.getUser(userName) };
  } catch (error) {
    return { error };
  }
}

/** The re-read right before a grant: existence, and MFA when it blocks (see `IamGateway.recheckUser`). */
export async function recheckIamUser(iam: IamGateway, userName: string, options: { mfa: boolean }): Promise<IamUserRead> {
  try {
    return { user: await iam.recheckUser(userName, options) };
  } catch (error) {
    return { error };
  }
}
