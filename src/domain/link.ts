/**
 * A link: an admin pinned a Slack user to an IAM user (`/request-billing link`). One IAM user
 * belongs to one Slack user. Pure data.
 */
export interface IdentityLink {
  userId: string;
  iamUserName: string;
  linkedBy: string;
  linkedAt: string;
}
