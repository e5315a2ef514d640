import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isRempartError, type Alert, type Decision } from "../core/index.ts";
import type {
  AbuseReportRecord,
  AccountCauseRecord,
  AccountHistoryRecord,
  AccountRecord,
  ApiKeyRecord,
  AppealRecord,
  Checkpoint,
  DetectionStateRecord,
  ReportRecord,
  SourcePosition,
  Storage,
} from "../core/ports.ts";

/**
 * One fresh, empty database. `open` may be called again after the previous storage was
 * closed and must see the same data (a daemon restart); `destroy` removes everything.
 */
export interface StorageBackend {
  open(): Promise<Storage>;
  destroy(): Promise<void>;
}

/**
 * The behaviour every storage backend must have. Registers node:test tests under `name`;
 * `create` is called once per test, so tests never see each other's rows.
 */
export function storageContract(name: string, create: () => Promise<StorageBackend>): void {
  const withStorage = async (run: (s: Storage, b: StorageBackend) => Promise<void>) => {
    const backend = await create();
    let storage: Storage | undefined;
    try {
      storage = await backend.open();
      await run(storage, backend);
    } finally {
      await storage?.close();
      await backend.destroy();
    }
  };

  void describe(`storage contract: ${name}`, () => {
    void it("round-trips decisions through commit and addDecisions", () =>
      withStorage(async (s) => {
        const permanent = decision({ id: "d1", expiresAt: null, origin: "manual", offence: 0 });
        const temporary = decision({
          id: "d2",
          createdAt: 2_000,
          expiresAt: 1_700_000_000_000 + 86_400_000,
          scope: "range",
          value: "2001:db8::/48",
          tzOffset: -300,
          offence: 3,
          reason: "10 failures in 60 s — « accents » and 'quotes'",
        });
        await s.commit(checkpoint({ decisions: [permanent] }));
        await s.addDecisions([temporary]);
        assert.deepEqual(await s.listDecisions({}), [temporary, permanent]);
      }));

    void it("round-trips alerts with their evidence and decision ids", () =>
      withStorage(async (s) => {
        const a = alert({
          id: "a1",
          evidence: [
            { event: "e1", time: 1_000, ip: "192.0.2.1" },
            { event: "e2", time: 1_001, account: "bob@example.org" },
          ],
          decisions: ["d1", "d2"],
        });
        const b = alert({ id: "a2", at: 5_000, evidence: [], decisions: [] });
        await s.commit(checkpoint({ alerts: [a, b] }));
        assert.deepEqual(await s.listAlerts({}), [b, a]);
        assert.deepEqual(await s.listAlerts({ since: 2_000 }), [b]);
        assert.deepEqual(await s.listAlerts({ scenario: "other" }), []);
        assert.deepEqual(await s.listAlerts({ value: a.value, limit: 1 }), [b]);
      }));

    void it("round-trips positions and detection state", () =>
      withStorage(async (s) => {
        const p: SourcePosition = {
          source: "mail",
          path: "/var/log/mail.log",
          inode: "2049:131",
          offset: 2 ** 40,
          head: "sha256:abc",
        };
        const st: DetectionStateRecord = {
          scenario: "ssh-bf",
          key: "192.0.2.1",
          state: '{"n":3}',
          expiresAt: 10_000,
        };
        await s.commit(checkpoint({ positions: [p], state: [st] }));
        assert.deepEqual(await s.positions("mail"), [p]);
        assert.deepEqual(await s.positions("nginx"), []);
        assert.deepEqual(await s.detectionState(0), [st]);
      }));

    void it("commits nothing of a checkpoint when one of its writes fails", () =>
      withStorage(async (s) => {
        const before = position({ offset: 100 });
        await s.commit(checkpoint({ positions: [before] }));
        const broken = { ...position({ path: "/b" }), path: null } as unknown as SourcePosition;
        await assert.rejects(
          s.commit(
            checkpoint({
              decisions: [decision({ id: "lost" })],
              alerts: [alert({ id: "lost" })],
              state: [state({ key: "lost" })],
              positions: [position({ offset: 999 }), broken],
            }),
          ),
          (e: unknown) => isRempartError(e) && e.code === "STORAGE_FAILED",
        );
        assert.deepEqual(await s.listDecisions({}), []);
        assert.deepEqual(await s.listAlerts({}), []);
        assert.deepEqual(await s.detectionState(0), []);
        assert.deepEqual(await s.positions(before.source), [before]);
        // The storage is still usable after the rollback.
        await s.commit(checkpoint({ decisions: [decision({ id: "kept" })] }));
        assert.equal((await s.listDecisions({})).length, 1);
      }));

    void it("ignores a decision or alert id seen before, keeping the first", () =>
      withStorage(async (s) => {
        const first = decision({ id: "same", reason: "first" });
        await s.commit(
          checkpoint({
            decisions: [first, decision({ id: "same", reason: "second" })],
            alerts: [alert({ id: "al", message: "first" })],
          }),
        );
        await s.commit(
          checkpoint({
            decisions: [decision({ id: "same", reason: "third" })],
            alerts: [alert({ id: "al", message: "again" })],
          }),
        );
        await s.addDecisions([decision({ id: "same", reason: "fourth" })]);
        assert.deepEqual(await s.listDecisions({}), [first]);
        assert.deepEqual(
          (await s.listAlerts({})).map((a) => a.message),
          ["first"],
        );
      }));

    void it("lists active decisions only: not expired, not deleted", () =>
      withStorage(async (s) => {
        const active = decision({ id: "active", createdAt: 1_000, expiresAt: 2_000 });
        const permanent = decision({ id: "permanent", createdAt: 900, expiresAt: null });
        const expired = decision({ id: "expired", createdAt: 1_100, expiresAt: 1_200 });
        const endsNow = decision({ id: "ends-now", createdAt: 1_000, expiresAt: 1_500 });
        const deleted = decision({ id: "deleted", createdAt: 1_200, expiresAt: 9_000 });
        await s.addDecisions([active, permanent, expired, endsNow, deleted]);
        await s.commit(checkpoint({ deletedDecisions: [{ id: "deleted", at: 1_300 }] }));

        assert.deepEqual(await s.listDecisions({ activeAt: 1_500 }), [active, permanent]);
        assert.deepEqual(
          (await s.listDecisions({})).map((d) => d.id),
          // Newest first; equal times by id, descending, so that the order is stable.
          ["deleted", "expired", "ends-now", "active", "permanent"],
        );
        assert.deepEqual(await s.listDecisions({ activeAt: 1_500, limit: 1 }), [active]);
        // What a bouncer that last pulled at 1,250 has not heard of: deleted since, made before.
        assert.deepEqual(
          (await s.listDecisions({ deletedAfter: 1_250, createdBy: 1_250 })).map((d) => d.id),
          ["deleted"],
        );
        assert.deepEqual(await s.listDecisions({ deletedAfter: 1_300 }), []);
        assert.deepEqual(await s.listDecisions({ deletedAfter: 1_250, createdBy: 1_199 }), []);
      }));

    void it("filters decisions by scope, value and action", () =>
      withStorage(async (s) => {
        const ipBan = decision({ id: "1", scope: "ip", value: "192.0.2.1", action: "ban" });
        const ipThrottle = decision({
          id: "2",
          scope: "ip",
          value: "192.0.2.1",
          action: "throttle",
          createdAt: 2_000,
        });
        const other = decision({ id: "3", scope: "ip", value: "192.0.2.2" });
        const account = decision({ id: "4", scope: "account", value: "192.0.2.1" });
        await s.addDecisions([ipBan, ipThrottle, other, account]);
        assert.deepEqual(await s.listDecisions({ scope: "ip", value: "192.0.2.1" }), [
          ipThrottle,
          ipBan,
        ]);
        assert.deepEqual(
          await s.listDecisions({ scope: "ip", value: "192.0.2.1", action: "ban" }),
          [ipBan],
        );
        assert.deepEqual(await s.listDecisions({ scope: "account" }), [account]);
        assert.deepEqual(await s.listDecisions({ scope: "email" }), []);
      }));

    void it("deletes decisions once, and reports how many it deleted", () =>
      withStorage(async (s) => {
        await s.addDecisions([decision({ id: "a" }), decision({ id: "b" })]);
        assert.equal(await s.deleteDecisions(["a", "b", "unknown"], 5_000), 2);
        assert.equal(await s.deleteDecisions(["a"], 6_000), 0);
        assert.equal(await s.deleteDecisions([], 6_000), 0);
        assert.deepEqual(await s.listDecisions({ activeAt: 0 }), []);
      }));

    void it("hands each decision over as listDecisions lists it, in order, by any query", () =>
      withStorage(async (s) => {
        // Equal creation times, so that the order rests on ids too; one deleted, one expired.
        const ds = [
          decision({ id: "a", createdAt: 1_000, expiresAt: 2_000 }),
          decision({ id: "c", createdAt: 1_000, expiresAt: null, scope: "account" }),
          decision({ id: "b", createdAt: 1_000, expiresAt: 9_000, reason: "other" }),
          decision({ id: "e", createdAt: 1_200, expiresAt: 1_300 }),
          decision({ id: "d", createdAt: 1_100, expiresAt: 9_000, value: "2001:db8::/48" }),
          decision({ id: "f", createdAt: 1_300, expiresAt: 9_000, scenario: "x" }),
        ];
        await s.addDecisions(ds);
        await s.deleteDecisions(["d"], 1_400);
        for (const query of [
          {},
          { activeAt: 1_500 },
          { createdAfter: 1_000 },
          { createdAfter: 1_100, activeAt: 1_250 },
          { inactiveAt: 1_500 },
          { inactiveAt: 1_250, createdAfter: 1_000 },
          { activeAt: 1_500, limit: 2 },
          { limit: 4 },
          { scope: "ip" as const },
          { createdAfter: 5_000 },
        ]) {
          const got: Decision[] = [];
          const n = await s.forEachDecision(query, (d) => got.push(d));
          assert.deepEqual(got, await s.listDecisions(query), JSON.stringify(query));
          assert.equal(n, got.length);
        }
        assert.deepEqual(
          (await s.listDecisions({ createdAfter: 1_000 })).map((d) => d.id),
          ["f", "e", "d"],
        );
        // Expired by then (a, e) or deleted (d): the complement of activeAt.
        assert.deepEqual(
          (await s.listDecisions({ inactiveAt: 2_000 })).map((d) => d.id),
          ["e", "d", "a"],
        );
      }));

    void it("lists the ids of the decisions active at a time, and those alone", () =>
      withStorage(async (s) => {
        await s.addDecisions([
          decision({ id: "a", expiresAt: 2_000 }),
          decision({ id: "b", expiresAt: null }),
          decision({ id: "c", expiresAt: 9_000 }),
          decision({ id: "d", expiresAt: 9_000 }),
          decision({ id: "e", expiresAt: 9_000 }),
        ]);
        await s.deleteDecisions(["d"], 1_500);
        assert.deepEqual((await s.activeDecisionIds(1_000)).sort(), ["a", "b", "c", "e"]);
        assert.deepEqual((await s.activeDecisionIds(2_000)).sort(), ["b", "c", "e"]);
        assert.deepEqual(await s.activeDecisionIds(10_000), ["b"]);
      }));

    void it("forEachDecision: a failure of the callback stops the read and leaves unchanged", () =>
      withStorage(async (s) => {
        await s.addDecisions([decision({ id: "a" }), decision({ id: "b" })]);
        const bug = new TypeError("bug");
        let calls = 0;
        await assert.rejects(
          s.forEachDecision({}, () => {
            calls++;
            throw bug;
          }),
          (e: unknown) => e === bug,
        );
        assert.equal(calls, 1);
        // The connection is free again.
        assert.equal((await s.listDecisions({})).length, 2);
      }));

    void it("counts offences since a time, expired and deleted ones included", () =>
      withStorage(async (s) => {
        await s.addDecisions([
          decision({ id: "old", createdAt: 100, expiresAt: 200 }),
          decision({ id: "edge", createdAt: 1_000, expiresAt: 1_100 }),
          decision({ id: "deleted", createdAt: 2_000 }),
          decision({ id: "active", createdAt: 3_000, expiresAt: null }),
          decision({ id: "other-value", createdAt: 3_000, value: "192.0.2.99" }),
          decision({ id: "other-scope", createdAt: 3_000, scope: "account" }),
        ]);
        await s.deleteDecisions(["deleted"], 2_500);
        assert.equal(await s.countOffences("ip", "192.0.2.1", 1_000), 3);
        assert.equal(await s.countOffences("ip", "192.0.2.1", 0), 4);
        assert.equal(await s.countOffences("ip", "192.0.2.1", 3_001), 0);
        assert.equal(await s.countOffences("email", "nobody@example.org", 0), 0);
      }));

    void it("takes a NUL in any text (PostgreSQL stores U+FFFD in its place), not failing the commit", () =>
      withStorage(async (s) => {
        // A log line's account or an application's event may carry one.
        const nul = "bad\u0000name";
        const same = (stored: string | undefined): boolean =>
          stored?.replaceAll("\uFFFD", "\u0000") === nul;
        await s.commit(
          checkpoint({
            decisions: [decision({ id: "n1", scope: "account", value: nul, reason: nul })],
            alerts: [alert({ id: "an1", value: nul, message: nul })],
            state: [state({ key: nul, state: "{}" })],
            positions: [position({ path: `/var/log/${nul}` })],
          }),
        );
        const [d] = await s.listDecisions({ scope: "account" });
        assert.ok(same(d?.value) && same(d?.reason), JSON.stringify(d));
        const [a] = await s.listAlerts({});
        assert.ok(same(a?.message), JSON.stringify(a));
        assert.ok((await s.detectionState(0)).some((r) => same(r.key)));
      }));

    void it("upserts positions, the last one of a checkpoint winning", () =>
      withStorage(async (s) => {
        const a = position({ path: "/a", offset: 10 });
        const b = position({ path: "/b", offset: 20 });
        await s.commit(checkpoint({ positions: [a, b] }));
        const a2 = { ...a, offset: 30, inode: "9:9", head: "new" };
        const a3 = { ...a, offset: 40 };
        await s.commit(checkpoint({ positions: [a2, a3] }));
        assert.deepEqual(await s.positions("mail"), [a3, b]);
      }));

    void it("upserts and deletes detection state, and hides expired state", () =>
      withStorage(async (s) => {
        const x = state({ key: "x", state: "1", expiresAt: 5_000 });
        const y = state({ key: "y", state: "1", expiresAt: 5_000 });
        const z = state({ key: "z", state: "1", expiresAt: 1_000 });
        await s.commit(checkpoint({ state: [x, y, z] }));
        assert.deepEqual(await s.detectionState(2_000), [x, y]);

        const x2 = { ...x, state: "2", expiresAt: 8_000 };
        await s.commit(
          checkpoint({
            state: [x2, { ...y, state: "" }, { ...z, state: "9" }, { ...z, state: "" }],
          }),
        );
        assert.deepEqual(await s.detectionState(0), [x2]);
        // Deleting a key that does not exist is not an error.
        await s.commit(checkpoint({ state: [state({ key: "never", state: "" })] }));
        assert.deepEqual(await s.detectionState(8_000), []);
      }));

    void it("stores, finds, lists and deletes API keys", () =>
      withStorage(async (s) => {
        const admin: ApiKeyRecord = {
          id: "k1",
          name: "ops laptop",
          role: "admin",
          hash: "a".repeat(64),
          createdAt: 1_000,
        };
        const bouncer: ApiKeyRecord = {
          ...admin,
          id: "k2",
          name: "fw",
          role: "bouncer",
          createdAt: 2_000,
        };
        await s.addApiKey(admin);
        await s.addApiKey(bouncer);
        assert.deepEqual(await s.findApiKey("k1"), admin);
        assert.equal(await s.findApiKey("nope"), undefined);
        assert.deepEqual(await s.listApiKeys(), [admin, bouncer]);
        await assert.rejects(
          s.addApiKey({ ...admin, name: "clash" }),
          (e: unknown) => isRempartError(e) && e.code === "STORAGE_FAILED",
        );
        assert.equal(await s.bouncerPull("k2"), undefined);
        await s.saveBouncerPull("k2", 1_000);
        await s.saveBouncerPull("k2", 2_000);
        await s.saveBouncerPull("k1", 3_000);
        assert.equal(await s.bouncerPull("k2"), 2_000);
        assert.equal(await s.deleteApiKey("k1"), true);
        assert.equal(await s.deleteApiKey("k1"), false);
        assert.deepEqual(await s.listApiKeys(), [bouncer]);
        // A deleted key's last pull goes with it: a new key of that id starts afresh.
        assert.equal(await s.bouncerPull("k1"), undefined);
        assert.equal(await s.bouncerPull("k2"), 2_000);
      }));

    void it("commits large checkpoints in several statements", () =>
      withStorage(async (s) => {
        const n = 6_000;
        const decisions = Array.from({ length: n }, (_, i) =>
          decision({ id: `d${i}`, value: `10.0.${i >> 8}.${i & 255}`, createdAt: i }),
        );
        const states = Array.from({ length: n }, (_, i) =>
          state({ key: `k${i}`, expiresAt: 10_000 }),
        );
        await s.commit(checkpoint({ decisions, state: states }));
        await s.commit(
          checkpoint({
            deletedDecisions: decisions.slice(0, n / 2).map((d) => ({ id: d.id, at: 1 })),
            state: states.slice(0, n / 2).map((r) => ({ ...r, state: "" })),
          }),
        );
        assert.equal((await s.listDecisions({})).length, n);
        assert.equal((await s.listDecisions({ activeAt: 0 })).length, n / 2);
        assert.equal((await s.detectionState(0)).length, n / 2);
      }));

    void it("keeps its data across a close and a reopen", () =>
      withStorage(async (first, backend) => {
        const d = decision({ id: "survivor" });
        const p = position({});
        const k: ApiKeyRecord = { id: "k", name: "n", role: "sensor", hash: "h", createdAt: 1 };
        await first.commit(checkpoint({ decisions: [d], positions: [p] }));
        await first.addApiKey(k);
        await first.close();
        const second = await backend.open();
        try {
          assert.deepEqual(await second.listDecisions({}), [d]);
          assert.deepEqual(await second.positions(p.source), [p]);
          assert.deepEqual(await second.findApiKey("k"), k);
        } finally {
          await second.close();
        }
      }));

    void it("writes account steps atomically, refusing stale versions and repeated causes", () =>
      withStorage(async (s) => {
        const v1 = account({ version: 1, history: 1 });
        const c1 = cause({ id: "sig-1" });
        assert.equal(
          await s.writeAccount({
            account: v1,
            expectedVersion: 0,
            cause: c1,
            history: [history({ seq: 1, event: "sig-1" })],
          }),
          "ok",
        );
        assert.deepEqual(await s.findAccount("acct-1"), v1);
        assert.equal(await s.findAccount("nobody"), undefined);
        // A second creation of the same account conflicts, and writes nothing.
        assert.equal(
          await s.writeAccount({
            account: { ...v1, state: "active" },
            expectedVersion: 0,
            cause: cause({ id: "other" }),
            history: [history({ seq: 2 })],
          }),
          "conflict",
        );
        // A cause seen before is a duplicate: the account row is not moved either.
        const v2 = { ...v1, version: 2, history: 2, state: "active", since: 5_000 };
        assert.equal(
          await s.writeAccount({
            account: v2,
            expectedVersion: 1,
            cause: c1,
            history: [history({ seq: 2 })],
          }),
          "duplicate",
        );
        assert.deepEqual(await s.findAccount("acct-1"), v1);
        const c2 = cause({ id: "EV2", cause: "email.confirmed", time: 5_000, by: "« app »" });
        const h2 = history({ seq: 2, event: "EV2", from: "pending_email", to: "active" });
        assert.equal(
          await s.writeAccount({ account: v2, expectedVersion: 1, cause: c2, history: [h2] }),
          "ok",
        );
        assert.equal(
          await s.writeAccount({ account: v2, expectedVersion: 1, history: [] }),
          "conflict",
        );
        assert.deepEqual(await s.findAccount("acct-1"), v2);
        assert.deepEqual(
          (await s.accountCauses("acct-1")).sort((a, b) => a.time - b.time),
          [c1, c2],
        );
        assert.deepEqual(await s.accountHistory("acct-1", 10), [
          h2,
          history({ seq: 1, event: "sig-1" }),
        ]);
        assert.deepEqual(await s.accountHistory("acct-1", 1), [h2]);
        assert.deepEqual(await s.accountCauses("nobody"), []);
      }));

    void it("lists accounts by state entered before a time, oldest first", () =>
      withStorage(async (s) => {
        for (const [id, state, since] of [
          ["a", "pending_email", 3_000],
          ["b", "pending_email", 1_000],
          ["c", "active", 1_000],
          ["d", "pending_email", 9_000],
        ] as const)
          await s.writeAccount({
            account: account({ id, state, since }),
            expectedVersion: 0,
            history: [],
          });
        const ids = async (limit: number) =>
          (await s.listAccounts({ state: "pending_email", sinceBefore: 5_000, limit })).map(
            (a) => a.id,
          );
        assert.deepEqual(await ids(10), ["b", "a"]);
        assert.deepEqual(await ids(1), ["b"]);
      }));

    void it("keeps the first account of a link, and webhook events once", () =>
      withStorage(async (s) => {
        const link = { provider: "gocardless", kind: "customer", ref: "CU1", createdAt: 1 };
        await s.addAccountLinks([
          { ...link, account: "first" },
          { ...link, account: "second" },
        ]);
        await s.addAccountLinks([{ ...link, account: "third" }]);
        await s.addAccountLinks([]);
        assert.equal(await s.findAccountLink("gocardless", "customer", "CU1"), "first");
        assert.equal(await s.findAccountLink("gocardless", "mandate", "CU1"), undefined);
        const ev = { provider: "gocardless", id: "EV1", receivedAt: 1, account: "", outcome: "x" };
        assert.equal(await s.hasWebhookEvent("gocardless", "EV1"), false);
        assert.equal(await s.addWebhookEvent(ev), true);
        assert.equal(await s.addWebhookEvent({ ...ev, outcome: "again" }), false);
        assert.equal(await s.addWebhookEvent({ ...ev, provider: "hmac:shop" }), true);
        assert.equal(await s.hasWebhookEvent("gocardless", "EV1"), true);
      }));

    void it("keeps webhook events that wait on a link, found by any of their links, until removed or pruned", () =>
      withStorage(async (s) => {
        const pending = {
          provider: "gocardless",
          id: "EV3",
          receivedAt: 1_000,
          links: [
            { kind: "payment", ref: "PM1" },
            { kind: "mandate", ref: "MD1" },
            { kind: "payment", ref: "PM1" },
          ],
          payload: '{"id":"EV3"}',
        };
        await s.addPendingWebhookEvent(pending);
        await s.addPendingWebhookEvent(pending);
        await s.addPendingWebhookEvent({ ...pending, id: "EV4", receivedAt: 2_000, payload: "4" });
        await s.addPendingWebhookEvent({ ...pending, provider: "other", id: "EV5" });
        await s.addPendingWebhookEvent({ ...pending, id: "EV6", links: [] });
        assert.deepEqual(await s.pendingWebhookEvents("gocardless", "payment", "PM1"), [
          { id: "EV3", payload: '{"id":"EV3"}' },
          { id: "EV4", payload: "4" },
        ]);
        assert.deepEqual(
          (await s.pendingWebhookEvents("gocardless", "mandate", "MD1")).map((p) => p.id),
          ["EV3", "EV4"],
        );
        assert.deepEqual(await s.pendingWebhookEvents("gocardless", "mandate", "PM1"), []);
        await s.removePendingWebhookEvent("gocardless", "EV3");
        assert.deepEqual(
          (await s.pendingWebhookEvents("gocardless", "payment", "PM1")).map((p) => p.id),
          ["EV4"],
        );
        assert.deepEqual(
          (await s.pendingWebhookEvents("gocardless", "mandate", "MD1")).map((p) => p.id),
          ["EV4"],
        );
        // EV5 (another provider) and EV4 at 1,000 and 2,000: only EV5 is older than 1,500.
        assert.equal(await s.prunePendingWebhookEvents(1_500), 1);
        assert.deepEqual(await s.pendingWebhookEvents("other", "payment", "PM1"), []);
        assert.equal(await s.prunePendingWebhookEvents(3_000), 1);
        assert.deepEqual(await s.pendingWebhookEvents("gocardless", "payment", "PM1"), []);
        assert.equal(await s.prunePendingWebhookEvents(3_000), 0);
      }));

    void it("keeps reports once, lists them by address and reporter, feeds its own after a cursor", () =>
      withStorage(async (s, backend) => {
        const rs: ReportRecord[] = [
          report({ id: "r1", time: 1_000, ip: "192.0.2.1", categories: [18, 22], weight: 1 }),
          report({ id: "r2", time: 2_000, ip: "192.0.2.1", reporter: "key:f2b", comment: "sshd" }),
          report({ id: "peerA:9", time: 2_000, ip: "192.0.2.1", reporter: "peer:a", weight: 0.25 }),
          report({ id: "r3", time: 2_000, ip: "2001:db8::7", categories: [23, 1] }),
          report({ id: "r4", time: 3_000, ip: "198.51.100.4" }),
        ];
        assert.equal(await s.addReports(rs), 5);
        // Written again (a peer's page read twice, two nodes reporting one decision): no change.
        assert.equal(await s.addReports([report({ id: "r1", time: 9, ip: "203.0.113.9" })]), 0);
        assert.deepEqual(
          (await s.listReports({ ip: "192.0.2.1" })).map((r) => r.id),
          ["r2", "peerA:9", "r1"],
        );
        assert.deepEqual(await s.listReports({ ip: "192.0.2.1", reporter: "key:f2b" }), [rs[1]]);
        assert.deepEqual(
          (await s.listReports({ since: 2_000, limit: 2 })).map((r) => r.id),
          ["r4", "r3"],
        );
        assert.deepEqual((await s.listReports({ ip: "2001:db8::7" }))[0]?.categories, [1, 23]);

        const own = await s.ownReportsAfter(undefined, 10);
        assert.deepEqual(
          own.map((r) => r.id),
          ["r1", "r2", "r3", "r4"],
          "a peer's report is not this site's to share",
        );
        // Ties at 2,000 are ordered by id: the cursor resumes between them.
        assert.deepEqual(
          (await s.ownReportsAfter({ time: 2_000, id: "r2" }, 1)).map((r) => r.id),
          ["r3"],
        );
        const seen: string[] = [];
        assert.equal(await s.forEachReport(2_000, (r) => seen.push(r.id)), 4);
        assert.deepEqual(seen, ["peerA:9", "r2", "r3", "r4"]);

        assert.equal(await s.peerCursor("a"), undefined);
        await s.savePeerCursor("a", "2000:x", 5);
        await s.savePeerCursor("a", "3000:y", 6);
        assert.equal(await s.peerCursor("a"), "3000:y");

        assert.deepEqual(
          (await s.deleteReports("2001:db8::7")).map((r) => r.id),
          ["r3"],
        );
        assert.deepEqual(await s.deleteReports("2001:db8::7"), []);
        assert.equal(await s.pruneReports(2_000), 1);
        await s.close();
        const again = await backend.open();
        try {
          assert.deepEqual(
            (await again.listReports({})).map((r) => r.id),
            ["r4", "r2", "peerA:9"],
          );
          assert.equal(await again.peerCursor("a"), "3000:y");
        } finally {
          await again.close();
        }
      }));

    void it("stores a checkpoint's reports with its decisions", () =>
      withStorage(async (s) => {
        const d = decision({ id: "d-own" });
        const r = report({ id: "d-own", ip: d.value, categories: [18], comment: d.reason });
        await s.commit(checkpoint({ decisions: [d], reports: [r] }));
        // Another node sharing the database reports the same decision: kept once.
        await s.commit(checkpoint({ reports: [{ ...r, comment: "again" }] }));
        assert.deepEqual(await s.listReports({}), [r]);
        assert.deepEqual(await s.listDecisions({}), [d]);
      }));

    void it("keeps appeals, closes an open one once, and prunes the closed ones", () =>
      withStorage(async (s) => {
        const open: AppealRecord = {
          id: "a1",
          createdAt: 1_000,
          ip: "192.0.2.7",
          contact: "marie@example.org",
          message: "C'est l'adresse de mon école — « merci »",
          sender: "198.51.100.4",
          status: "open",
          closedAt: null,
          closedBy: "",
          note: "",
        };
        assert.equal(await s.addAppeal(open), true);
        assert.equal(
          await s.addAppeal({ ...open, id: "a1-twice", createdAt: 1_500 }),
          false,
          "one open appeal per address",
        );
        assert.equal(
          await s.addAppeal({ ...open, id: "a2", createdAt: 2_000, ip: "2001:db8::1" }),
          true,
        );
        assert.deepEqual(await s.findAppeal("a1"), open);
        assert.equal(await s.findAppeal("nope"), undefined);
        assert.deepEqual(
          (await s.listAppeals({ status: "open" })).map((a) => a.id),
          ["a2", "a1"],
        );
        assert.deepEqual(
          (await s.listAppeals({ ip: "192.0.2.7" })).map((a) => a.id),
          ["a1"],
        );
        const closed = await s.closeAppeal("a1", {
          status: "forgiven",
          at: 3_000,
          by: "ops",
          note: "done",
        });
        assert.deepEqual(closed, {
          ...open,
          status: "forgiven",
          closedAt: 3_000,
          closedBy: "ops",
          note: "done",
        });
        assert.equal(
          await s.closeAppeal("a1", { status: "refused", at: 4_000, by: "other", note: "" }),
          undefined,
          "the first answer stands",
        );
        // Answered, the address may appeal again.
        assert.equal(await s.addAppeal({ ...open, id: "a3", createdAt: 5_000 }), true);
        assert.equal(
          (await s.closeAppeal("a3", { status: "refused", at: 5_001, by: "ops", note: "" })) !==
            undefined,
          true,
        );
        assert.deepEqual(
          (await s.listAppeals({ status: "open", limit: 5 })).map((a) => a.id),
          ["a2"],
        );
        assert.equal(await s.pruneAppeals(3_000), 0);
        assert.equal(await s.pruneAppeals(3_001), 1);
        assert.deepEqual(
          (await s.listAppeals({})).map((a) => a.id),
          ["a3", "a2"],
          "neither an open appeal nor one closed since is pruned",
        );
      }));

    void it("queues abuse reports once, updates them, keeps contacts, prunes what was sent", () =>
      withStorage(async (s) => {
        const r = (id: string, createdAt: number): AbuseReportRecord => ({
          id,
          createdAt,
          ip: "203.0.113.9",
          scenario: "mail-bruteforce",
          reason: "Fast password guessing: 12 failures in 60 s",
          categories: [18],
          status: "pending",
          contact: "",
          attempts: 0,
          sentAt: null,
          note: "",
        });
        await s.addAbuseReports([r("b", 2_000), r("a", 1_000)]);
        await s.addAbuseReports([{ ...r("a", 1_000), reason: "again" }]);
        assert.deepEqual(
          (await s.listAbuseReports({ status: "pending", oldest: true })).map((x) => x.id),
          ["a", "b"],
        );
        await s.updateAbuseReports(["a"], {
          status: "sent",
          contact: "abuse@example.net",
          note: "one message",
          sentAt: 3_000,
        });
        const [sent] = await s.listAbuseReports({ status: "sent" });
        assert.deepEqual(sent, {
          ...r("a", 1_000),
          status: "sent",
          contact: "abuse@example.net",
          attempts: 1,
          sentAt: 3_000,
          note: "one message",
        });
        assert.equal(await s.pruneAbuseReports(5_000), 1, "the pending one stays");
        assert.deepEqual(
          (await s.listAbuseReports({})).map((x) => x.id),
          ["b"],
        );
        assert.equal(await s.abuseContact("203.0.113.0/24"), undefined);
        const contact = {
          prefix: "203.0.113.0/24",
          contact: "abuse@example.net",
          network: "EXAMPLE-NET",
          lookedUpAt: 1,
        };
        await s.saveAbuseContact(contact);
        await s.saveAbuseContact({ ...contact, lookedUpAt: 2 });
        assert.deepEqual(await s.abuseContact("203.0.113.0/24"), { ...contact, lookedUpAt: 2 });
      }));

    void it("migrates idempotently", () =>
      withStorage(async (s) => {
        await s.addDecisions([decision({ id: "before" })]);
        await s.migrate();
        await s.migrate();
        assert.deepEqual(
          (await s.listDecisions({})).map((d) => d.id),
          ["before"],
        );
      }));
  });
}

function decision(overrides: Partial<Decision>): Decision {
  return {
    id: "d",
    action: "ban",
    scope: "ip",
    value: "192.0.2.1",
    createdAt: 1_000,
    expiresAt: 1_000 + 3_600_000,
    origin: "scenario",
    scenario: "ssh-bf",
    reason: "too many failures",
    offence: 1,
    tzOffset: 60,
    ...overrides,
  };
}

function alert(overrides: Partial<Alert>): Alert {
  return {
    id: "a",
    scenario: "ssh-bf",
    scope: "ip",
    value: "192.0.2.1",
    at: 1_000,
    tzOffset: 60,
    count: 12,
    message: "12 failures",
    evidence: [{ event: "e", time: 1_000 }],
    decisions: [],
    ...overrides,
  };
}

function position(overrides: Partial<SourcePosition>): SourcePosition {
  return {
    source: "mail",
    path: "/var/log/mail.log",
    inode: "1:2",
    offset: 0,
    head: "h",
    ...overrides,
  };
}

function state(overrides: Partial<DetectionStateRecord>): DetectionStateRecord {
  return { scenario: "ssh-bf", key: "k", state: "{}", expiresAt: 10_000, ...overrides };
}

function account(overrides: Partial<AccountRecord>): AccountRecord {
  return {
    id: "acct-1",
    state: "pending_email",
    since: 1_000,
    memory: '{"resume":"pending_email"}',
    lastTime: 1_000,
    history: 0,
    version: 1,
    updatedAt: 1_700_000_000_000,
    ...overrides,
  };
}

function cause(overrides: Partial<AccountCauseRecord>): AccountCauseRecord {
  return {
    id: "c",
    account: "acct-1",
    cause: "signup",
    type: "signup",
    time: 1_000,
    resource: "",
    by: "app",
    detail: "{}",
    ...overrides,
  };
}

function history(overrides: Partial<AccountHistoryRecord>): AccountHistoryRecord {
  return {
    account: "acct-1",
    seq: 1,
    at: 1_000,
    event: "",
    cause: "signup",
    from: "unknown",
    to: "pending_email",
    outcome: "applied",
    reason: "signed up",
    by: "app",
    recordedAt: 1_700_000_000_000,
    ...overrides,
  };
}

function report(overrides: Partial<ReportRecord> & Pick<ReportRecord, "id">): ReportRecord {
  return {
    time: 1_000,
    ip: "192.0.2.1",
    categories: [],
    weight: 1,
    reporter: "rempart",
    comment: "",
    ...overrides,
  };
}

function checkpoint(parts: Partial<Checkpoint>): Checkpoint {
  return { decisions: [], deletedDecisions: [], alerts: [], positions: [], state: [], ...parts };
}
