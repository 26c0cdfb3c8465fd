/** Public API of the AWS Secrets Manager + STS emulator. */
export {
  startAwsEmulator,
  EXAMPLE_ACCESS_KEY_ID,
  EXAMPLE_SECRET_ACCESS_KEY,
  type AwsEmulator,
  type AwsEmulatorOptions,
} from './aws-emulator.js';
export type { AwsEmulatorControl, CallRecord, CallListener } from './aws-control.js';
export { ALLOW_ALL, evaluatePolicy, type PolicyDocument, type PolicyStatement } from './aws-iam-policy.js';
export { AWS_RATES, QUOTA_GROUPS, type Faults, type QuotaRates } from './aws-quotas.js';
export type { SecretSnapshot, Tag } from './aws-sm-store.js';
export type { CredentialConfig, RoleConfig } from './aws-sts.js';
