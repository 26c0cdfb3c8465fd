/** The aws-sm entry of the destination registry. */
import type { DestinationTypeSpec } from '../destination.js';
import { AwsSmClient } from './aws-sm-client.js';
import { AWS_SM_DEFAULT_TEMPLATE, awsSmConnectionFields, normalizeAwsSmName, parseAwsSmConfig, validateAwsSm } from './aws-sm-config.js';

export const awsSmSpec: DestinationTypeSpec = {
  type: 'aws-sm',
  implemented: true,
  defaultTemplate: AWS_SM_DEFAULT_TEMPLATE,
  defaultGranularity: 'secret-path',
  connectionFields: awsSmConnectionFields,
  supportsTags: true,
  validate: validateAwsSm,
  normalizeName: normalizeAwsSmName,
  createClient: (conn, options, deps) =>
    new AwsSmClient(parseAwsSmConfig(conn), options, deps, {
      ...(deps?.timeouts?.connectMs !== undefined ? { connectionTimeoutMs: deps.timeouts.connectMs } : {}),
      ...(deps?.timeouts?.requestMs !== undefined ? { requestTimeoutMs: deps.timeouts.requestMs } : {}),
    }),
};
