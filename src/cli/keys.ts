import { createApiKey } from "../http/api-keys.ts";
import type { ApiKeyRecord, ApiRole } from "../core/index.ts";
import { RempartError } from "../core/index.ts";
import type { Config } from "../daemon/config.ts";
import { openConfiguredStorage } from "../daemon/storage-config.ts";

/**
 * API keys, straight in the database (no daemon needed, as on a machine where it does not run
 * yet). A running daemon checks keys against the database again within a minute: a key deleted
 * here stops working by then.
 */

/** Creates an API key; returns its text, shown once. */
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

/** Every key, oldest first (their secrets are not kept: only names, roles and ids). */
export async function listKeysOffline(config: Config): Promise<ApiKeyRecord[]> {
  const storage = await openConfiguredStorage(config, { existing: true });
  try {
    return await storage.listApiKeys();
  } finally {
    await storage.close();
  }
}

/** Deletes the key of this name, or of this id; the deleted key, or a NOT_FOUND error. */
export async function deleteKeyOffline(config: Config, nameOrId: string): Promise<ApiKeyRecord> {
  const storage = await openConfiguredStorage(config, { existing: true });
  try {
    const keys = await storage.listApiKeys();
    const key = keys.find((k) => k.name === nameOrId) ?? keys.find((k) => k.id === nameOrId);
    if (key === undefined || !(await storage.deleteApiKey(key.id)))
      throw new RempartError(
        "NOT_FOUND",
        `keys delete: no key is named or has the id "${nameOrId}"`,
        {
          hint: "rempart keys list shows them",
        },
      );
    return key;
  } finally {
    await storage.close();
  }
}
