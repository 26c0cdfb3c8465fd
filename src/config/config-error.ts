/**
 * The one error type of config loading. Every message starts with `config:`
 * and names the offending key path; none ever contains a value from the file
 * or the environment (the file may hold tokens and connection URLs).
 */
export class ConfigError extends Error {
  readonly code = 'config_invalid';

  /** One line per problem, without the `config: ` prefix. */
  readonly issues: readonly string[];

  constructor(issues: string | readonly string[]) {
    const list = typeof issues === 'string' ? [issues] : issues;
    super(`config: ${list.join('; ')}`);
    this.name = 'ConfigError';
    this.issues = list;
  }
}
