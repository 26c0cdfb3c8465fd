/** Entry point of `secrets-sync server`. */
export interface RunServerOptions {
  dev: boolean;
  devRootTokenId?: string;
  devListenAddress?: string;
  configPath?: string;
}

/** Starts the server and resolves with the exit code once it stops (on SIGINT/SIGTERM). */
export async function runServer(_opts: RunServerOptions): Promise<number> {
  throw new Error('not implemented yet');
}
