import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import pg from "pg";
import { isRempartError } from "../../core/index.ts";
import { openStorage } from "../index.ts";
import { storageContract } from "../storage-contract.ts";

const url = process.env["REMPART_TEST_POSTGRES_URL"];

if (url === undefined || url === "") {
  void describe("storage contract: postgres", () => {
    void it("runs against a PostgreSQL server", {
      skip:
        "set REMPART_TEST_POSTGRES_URL (e.g. postgres://postgres@127.0.0.1:5432/test) " +
        "to run the PostgreSQL contract suite",
    });
  });
} else {
  // One schema per test, dropped after it: runs in parallel or after a crash never collide.
  storageContract("postgres", () => {
    const schema = `rempart_test_${randomBytes(6).toString("hex")}`;
    return Promise.resolve({
      open: () => openStorage({ kind: "postgres", url, schema }),
      destroy: async () => {
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        try {
          await client.query(`drop schema if exists ${schema} cascade`);
        } finally {
          await client.end();
        }
      },
    });
  });

  void describe("postgres openStorage", () => {
    void it("says it cannot connect, without the password", async () => {
      await assert.rejects(
        openStorage({ kind: "postgres", url: "postgres://rempart:s3cret@127.0.0.1:1/rempart" }),
        (e: unknown) =>
          isRempartError(e) &&
          e.code === "STORAGE_FAILED" &&
          e.message.startsWith(
            "cannot connect to PostgreSQL at postgres://rempart:***@127.0.0.1:1/",
          ) &&
          !e.message.includes("s3cret") &&
          e.cause !== undefined,
      );
    });

    void it("migrates its schema while another schema of the database holds Kysely's tables", async () => {
      // Another Rempart (or any Kysely application) in the same database, in its own schema;
      // or a test run that crashed before dropping its schema.
      const name = (): string => `rempart_test_${randomBytes(6).toString("hex")}`;
      const other = name();
      const mine = name();
      try {
        await (await openStorage({ kind: "postgres", url, schema: other })).close();
        const storage = await openStorage({ kind: "postgres", url, schema: mine });
        try {
          await storage.commit({
            decisions: [],
            deletedDecisions: [],
            alerts: [],
            positions: [],
            state: [],
          });
        } finally {
          await storage.close();
        }
      } finally {
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        try {
          for (const s of [other, mine]) await client.query(`drop schema if exists ${s} cascade`);
        } finally {
          await client.end();
        }
      }
    });

    void it("refuses a schema name it would have to quote", async () => {
      await assert.rejects(
        openStorage({ kind: "postgres", url, schema: 'x"; drop table y; --' }),
        (e: unknown) => isRempartError(e) && e.code === "STORAGE_FAILED",
      );
    });
  });
}
