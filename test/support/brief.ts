/** The brief's (seed.md) IAM policy and a helper to create the brief's destination against an emulator. */
import type { PolicyDocument } from '../emulators/aws-secrets-manager/index.js';

export const BRIEF_POLICY: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'Statement1',
      Effect: 'Allow',
      Action: ['secretsmanager:Create*', 'secretsmanager:Update*', 'secretsmanager:Delete*', 'secretsmanager:TagResource'],
      Resource: 'arn:aws:secretsmanager:*:*:secret:vault*',
    },
  ],
};

/** Destination fields that point the aws-sm client at a loopback emulator (the network guard allows it only when told). */
export function emulatorConnection(url: string): Record<string, string> {
  const port = new URL(url).port;
  return {
    access_key_id: 'AKIAIOSFODNN7EXAMPLE',
    secret_access_key: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    region: 'us-east-1',
    endpoint_url: url,
    allowed_ipv4_addresses: '127.0.0.0/8',
    allowed_ports: port,
  };
}
