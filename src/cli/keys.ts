import { createApiKey } from "../http/api-keys.ts";
import type { ApiRole } from "../core/index.ts";
import type { Config } from "../daemon/config.ts";
import { openConfiguredStorage } from "../daemon/storage-config.ts";

/** Creates an API key straight in the database (no daemon needed); returns its text once. */
export async function createKeyOffline(
  config: Config,
  name: string,
  role: ApiRole,
): Promise<string> {
  const storage = await openConfiguredStorage(config);
  try {
    return await createApiKey(storage, name, role, Date.now());
  } finally {
    await storage.close();
  }
}
