/**
 * Who may call: long-term access keys of IAM users, roles that can be assumed,
 * and the temporary credentials STS `AssumeRole` issues for them (AWS Query
 * protocol, XML answers). A session carries the role's policy.
 */
import { randomBytes } from 'node:crypto';
import { AwsError, MSG, xmlEscape } from './aws-errors.js';
import { ALLOW_ALL, type PolicyDocument, assertPolicy } from './aws-iam-policy.js';
import { randomAlnum } from './aws-sm-store.js';

export interface CredentialConfig {
  accessKeyId: string;
  secretAccessKey: string;
  /** identity policy; default allow-all */
  policy?: PolicyDocument;
  /** IAM user name shown in ARNs and AccessDenied messages; default `emulator-user` */
  userName?: string;
}

export interface RoleConfig {
  roleArn: string;
  policy: PolicyDocument;
  /** when set, AssumeRole must carry exactly this ExternalId */
  externalId?: string;
  /** when set, only these access keys may assume the role (its trust policy) */
  trustedAccessKeys?: string[];
  /** longest DurationSeconds accepted (default 3600, as IAM's MaxSessionDuration) */
  maxSessionDurationSeconds?: number;
}

/** The authenticated caller of a request. */
export interface Identity {
  accessKeyId: string;
  principalArn: string;
  policy: PolicyDocument | undefined;
  kind: 'user' | 'session';
}

interface User {
  secret: string;
  userName: string;
  policy: PolicyDocument | undefined;
  userId: string;
}

interface Session {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: number;
  role: RoleConfig;
  sessionName: string;
  roleId: string;
}

const STS_NS = 'https://sts.amazonaws.com/doc/2011-06-15/';
const UPPER_DIGITS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export class IdentityStore {
  private users = new Map<string, User>();
  private roles = new Map<string, RoleConfig>();
  private sessions = new Map<string, Session>();

  constructor(
    readonly account: string,
    private readonly now: () => number,
  ) {}

  clear(): void {
    this.users.clear();
    this.roles.clear();
    this.sessions.clear();
  }

  addCredentials(c: CredentialConfig): void {
    if (c.policy !== undefined) assertPolicy(c.policy);
    this.users.set(c.accessKeyId, {
      secret: c.secretAccessKey,
      userName: c.userName ?? 'emulator-user',
      policy: c.policy ?? ALLOW_ALL,
      userId: `AIDA${randomAlnum(17, UPPER_DIGITS)}`,
    });
  }

  setPolicy(accessKeyId: string, policy: PolicyDocument | undefined): void {
    if (policy !== undefined) assertPolicy(policy);
    const u = this.users.get(accessKeyId);
    if (u === undefined) throw new Error(`unknown access key ${accessKeyId}`);
    u.policy = policy;
  }

  addRole(r: RoleConfig): void {
    assertPolicy(r.policy);
    if (!/^arn:aws:iam::\d{12}:role\/.+/.test(r.roleArn)) throw new Error(`not a role ARN: ${r.roleArn}`);
    this.roles.set(r.roleArn, r);
  }

  /** Makes every issued session expired (for tests of credential refresh). */
  expireSessions(): void {
    const past = this.now() - 1;
    for (const s of this.sessions.values()) s.expiration = past;
  }

  /** The caller behind an access key (+ session token), with the secret to verify its signature. */
  resolve(accessKeyId: string, sessionToken: string | undefined): { identity: Identity; secret: string } {
    const user = this.users.get(accessKeyId);
    if (user !== undefined) {
      if (sessionToken !== undefined) throw new AwsError('UnrecognizedClientException', MSG.invalidToken);
      return {
        identity: { accessKeyId, principalArn: `arn:aws:iam::${this.account}:user/${user.userName}`, policy: user.policy, kind: 'user' },
        secret: user.secret,
      };
    }
    const s = this.sessions.get(accessKeyId);
    if (s === undefined || sessionToken !== s.sessionToken) throw new AwsError('UnrecognizedClientException', MSG.invalidToken);
    if (s.expiration <= this.now()) throw new AwsError('ExpiredTokenException', MSG.expiredToken);
    return { identity: { accessKeyId, principalArn: assumedRoleArn(this.account, s), policy: s.role.policy, kind: 'session' }, secret: s.secretAccessKey };
  }

  /** Handles one STS Query request; returns the XML body and HTTP status. */
  handleQuery(params: URLSearchParams, caller: Identity, requestId: string): { action: string; status: number; body: string } {
    const action = params.get('Action') ?? '';
    if (action === 'AssumeRole') return { action, status: 200, body: this.assumeRole(params, caller, requestId) };
    if (action === 'GetCallerIdentity') {
      const body =
        `<GetCallerIdentityResponse xmlns="${STS_NS}"><GetCallerIdentityResult>` +
        `<Arn>${xmlEscape(caller.principalArn)}</Arn><UserId>${xmlEscape(caller.accessKeyId)}</UserId>` +
        `<Account>${this.account}</Account></GetCallerIdentityResult>` +
        `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></GetCallerIdentityResponse>`;
      return { action, status: 200, body };
    }
    throw new AwsError('InvalidAction', `Could not find operation ${action} for version ${params.get('Version') ?? ''}`);
  }

  private assumeRole(p: URLSearchParams, caller: Identity, requestId: string): string {
    const roleArn = p.get('RoleArn');
    const sessionName = p.get('RoleSessionName');
    const externalId = p.get('ExternalId') ?? undefined;
    const problems: string[] = [];
    if (roleArn === null) problems.push("Value null at 'roleArn' failed to satisfy constraint: Member must not be null");
    if (sessionName === null) problems.push("Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null");
    else if (!/^[\w+=,.@-]{2,64}$/.test(sessionName)) {
      problems.push(
        `Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`,
      );
    }
    const durationRaw = p.get('DurationSeconds');
    const duration = durationRaw === null ? 3600 : Number(durationRaw);
    if (!Number.isInteger(duration) || duration < 900 || duration > 43200) {
      problems.push(
        `Value '${durationRaw}' at 'durationSeconds' failed to satisfy constraint: Member must have value ${duration < 900 ? 'greater than or equal to 900' : 'less than or equal to 43200'}`,
      );
    }
    if (problems.length > 0) {
      throw new AwsError('ValidationError', `${problems.length} validation error${problems.length > 1 ? 's' : ''} detected: ${problems.join('; ')}`);
    }
    const role = this.roles.get(roleArn!);
    const denied = new AwsError(
      'AccessDenied',
      `User: ${caller.principalArn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
      403,
    );
    if (role === undefined) throw denied;
    if (role.trustedAccessKeys !== undefined && !role.trustedAccessKeys.includes(caller.accessKeyId)) throw denied;
    if (role.externalId !== undefined && role.externalId !== externalId) throw denied;
    const max = role.maxSessionDurationSeconds ?? 3600;
    if (duration > max) {
      throw new AwsError('ValidationError', `The requested DurationSeconds exceeds the MaxSessionDuration set for this role.`);
    }
    const s: Session = {
      accessKeyId: `ASIA${randomAlnum(16, UPPER_DIGITS)}`,
      secretAccessKey: randomBytes(30).toString('base64'),
      sessionToken: `IQoJb3JpZ2luX2Vj${randomBytes(240).toString('base64')}`,
      expiration: this.now() + duration * 1000,
      role,
      sessionName: sessionName!,
      roleId: `AROA${randomAlnum(17, UPPER_DIGITS)}`,
    };
    this.sessions.set(s.accessKeyId, s);
    const expiration = new Date(s.expiration).toISOString().replace(/\.\d{3}Z$/, 'Z');
    return (
      `<AssumeRoleResponse xmlns="${STS_NS}"><AssumeRoleResult>` +
      `<SourceIdentity></SourceIdentity>` +
      `<AssumedRoleUser><AssumedRoleId>${s.roleId}:${xmlEscape(s.sessionName)}</AssumedRoleId>` +
      `<Arn>${xmlEscape(assumedRoleArn(this.account, s))}</Arn></AssumedRoleUser>` +
      `<Credentials><AccessKeyId>${s.accessKeyId}</AccessKeyId>` +
      `<SecretAccessKey>${xmlEscape(s.secretAccessKey)}</SecretAccessKey>` +
      `<SessionToken>${xmlEscape(s.sessionToken)}</SessionToken>` +
      `<Expiration>${expiration}</Expiration></Credentials>` +
      `</AssumeRoleResult><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></AssumeRoleResponse>`
    );
  }
}

function assumedRoleArn(account: string, s: Session): string {
  const roleName = s.role.roleArn.slice(s.role.roleArn.lastIndexOf('/') + 1);
  return `arn:aws:sts::${account}:assumed-role/${roleName}/${s.sessionName}`;
}

/** STS's XML error envelope. */
export function stsErrorXml(type: 'Sender' | 'Receiver', code: string, message: string, requestId: string): string {
  return (
    `<ErrorResponse xmlns="${STS_NS}"><Error><Type>${type}</Type><Code>${xmlEscape(code)}</Code>` +
    `<Message>${xmlEscape(message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`
  );
}
