/**
 * For tests on a real PostgreSQL (REMPART_TEST_POSTGRES_URL): a schema of the test's own,
 * dropped after it, so that runs in parallel or after a crash never collide.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";

/** The server to test against, or undefined (the test then says it skips, and why). */
export const TEST_POSTGRES_URL = process.env["REMPART_TEST_POSTGRES_URL"] || undefined;
export const POSTGRES_SKIP =
  "set REMPART_TEST_POSTGRES_URL (e.g. postgres://postgres@127.0.0.1:5432/test)";

/** Runs one statement on the test server. */
export async function sqlOn(text: string): Promise<pg.QueryResult<Record<string, number>>> {
  const client = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await client.connect();
  try {
    return await client.query<Record<string, number>>(text);
  } finally {
    await client.end();
  }
}

/**
 * Creates a schema for the test and registers its drop with `after`; answers its name and a
 * URL whose connections use it (as an operator's `postgres_url` with `options=-c search_path`).
 */
export async function testSchema(after: (fn: () => Promise<unknown>) => void): Promise<{
  readonly schema: string;
  readonly url: string;
}> {
  const schema = `rempart_test_${randomBytes(6).toString("hex")}`;
  await sqlOn(`create schema ${schema}`);
  after(() => sqlOn(`drop schema if exists ${schema} cascade`));
  const u = new URL(TEST_POSTGRES_URL!);
  u.searchParams.set("options", `-c search_path=${schema}`);
  return { schema, url: u.toString() };
}
