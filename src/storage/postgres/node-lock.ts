/**
 * One daemon per node name on a shared PostgreSQL: two daemons started with one `node_name`
 * would read and overwrite the same read positions and detection state. A session-level
 * advisory lock, held on a connection of its own for as long as the daemon runs, refuses the
 * second. (A guard, not a guarantee: should that connection drop, the lock goes with it.)
 */
import pg from "pg";
import { RempartError } from "../../core/index.ts";

/** Takes the lock for `node`; resolves to its release. Unreachable: nothing to take here. */
export async function lockNode(url: string, node: string): Promise<() => Promise<void>> {
  const client = new pg.Client({
    connectionString: url,
    application_name: `rempart node ${node}`.slice(0, 63),
  });
  client.on("error", () => undefined);
  try {
    await client.connect();
  } catch {
    // Opening the storage says what is wrong with the server, in its own words.
    await client.end().catch(() => undefined);
    return () => Promise.resolve();
  }
  const { rows } = await client.query<{ ok: boolean; schema: string }>(
    "select pg_try_advisory_lock(hashtext('rempart node'), hashtext(current_schema() || ':' || $1)) as ok, current_schema() as schema",
    [node],
  );
  if (rows[0]?.ok !== true) {
    await client.end().catch(() => undefined);
    throw new RempartError(
      "UNAVAILABLE",
      `another Rempart runs as node "${node}" on this database (schema ${rows[0]?.schema ?? "?"}): two would read the same logs' positions and overwrite each other's`,
      {
        hint: "give each node its own node_name, or its own data_dir (where the name is kept)",
      },
    );
  }
  return async () => {
    await client.end().catch(() => undefined);
  };
}
