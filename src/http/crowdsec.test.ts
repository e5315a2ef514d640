import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import { z } from "zod";
import { createApi, type Api, type ApiResponse } from "./api.ts";
import { createApiKey } from "./api-keys.ts";
import { DecisionFeed } from "../decisions/index.ts";
import { BouncerCursors, goDuration } from "./crowdsec.ts";
import { CrowdsecDecisionView, ROUTES } from "./routes.ts";
import { createTestRuntime, type TestRuntime } from "./test-runtime.ts";

test("durations are written as Go writes them", () => {
  assert.equal(goDuration(0), "0s");
  assert.equal(goDuration(250), "250ms");
  assert.equal(goDuration(-250), "-250ms");
  assert.equal(goDuration(1500), "1.5s");
  assert.equal(goDuration(90_000), "1m30s");
  assert.equal(goDuration(3_600_000), "1h0m0s");
  assert.equal(goDuration(4 * 3_600_000 - 1_476), "3h59m58.524s");
  assert.equal(goDuration(-61_000), "-1m1s");
  assert.equal(goDuration(100 * 3_600_000 + 5), "100h0m0.005s");
});

const LIST = z.array(CrowdsecDecisionView.strict()).nullable();
const STREAM = ROUTES.crowdsecStream.responses[200].schema.strict();

describe("CrowdSec bouncer API", () => {
  let runtime: TestRuntime;
  let api: Api;
  let admin: string;
  let bouncer: string;
  let other: string;

  beforeEach(async () => {
    runtime = await createTestRuntime();
    api = createApi(runtime, { logError: () => undefined });
    const now = runtime.clock.now();
    admin = await createApiKey(runtime.storage, "ops", "admin", now);
    bouncer = await createApiKey(runtime.storage, "fw", "bouncer", now);
    other = await createApiKey(runtime.storage, "fw2", "bouncer", now);
  });
  afterEach(async () => {
    await runtime.close();
  });

  const get = (url: string, key = bouncer): Promise<ApiResponse> => {
    const q = url.indexOf("?");
    return api.handle({
      method: "GET",
      path: q < 0 ? url : url.slice(0, q),
      ...(q >= 0 && { query: url.slice(q + 1) }),
      headers: { "x-api-key": key },
    });
  };
  const decide = async (action: string, scope: string, value: string, duration = "4h") => {
    const r = await api.handle({
      method: "POST",
      path: "/v1/decisions",
      headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
      body: Buffer.from(JSON.stringify({ action, scope, value, duration, reason: "test" })),
    });
    assert.equal(r.status, 201, String(r.body));
    return (JSON.parse(String(r.body)) as { decision: { id: string } }).decision.id;
  };
  const remove = async (id: string) => {
    const r = await api.handle({
      method: "DELETE",
      path: `/v1/decisions/${id}`,
      headers: { authorization: `Bearer ${admin}` },
    });
    assert.equal(r.status, 204);
  };
  const values = (list: readonly { value: string }[] | null) =>
    (list ?? []).map((d) => d.value).sort();

  test("?ip= answers null when nothing applies, CrowdSec decisions when something does", async () => {
    assert.equal((await get("/v1/decisions?ip=203.0.113.7")).body, "null");
    await decide("ban", "ip", "203.0.113.7");
    await decide("challenge", "range", "198.51.100.0/24");
    await decide("throttle", "ip", "198.51.100.9");
    const hit = LIST.parse(JSON.parse(String((await get("/v1/decisions?ip=203.0.113.7")).body)));
    assert.equal(hit?.length, 1);
    assert.deepEqual(
      { ...hit[0]!, id: 0 },
      {
        duration: "4h0m0s",
        id: 0,
        origin: "manual",
        scenario: "ops",
        scope: "Ip",
        type: "ban",
        value: "203.0.113.7",
      },
    );
    assert.equal(typeof hit[0]!.id, "number");
    // a range holding the address applies; throttle is never sent to a bouncer
    const inRange = LIST.parse(
      JSON.parse(String((await get("/v1/decisions?ip=198.51.100.9")).body)),
    );
    assert.deepEqual(
      inRange?.map((d) => [d.scope, d.type, d.value]),
      [["Range", "captcha", "198.51.100.0/24"]],
    );
    runtime.clock.advance(runtime.clock.now() + 90 * 60_000);
    const later = LIST.parse(JSON.parse(String((await get("/v1/decisions?ip=203.0.113.7")).body)));
    assert.equal(later?.[0]?.duration, "2h30m0s");
  });

  test("filters: type, scope and value as CrowdSec writes them, range with contains", async () => {
    await decide("ban", "ip", "203.0.113.7");
    await decide("challenge", "ip", "198.51.100.9");
    await decide("ban", "range", "198.51.100.0/24");
    const list = async (q: string) =>
      values(LIST.parse(JSON.parse(String((await get(`/v1/decisions?${q}`)).body))));
    assert.deepEqual(await list("type=captcha"), ["198.51.100.9"]);
    assert.deepEqual(await list("scope=Ip&value=203.0.113.7"), ["203.0.113.7"]);
    assert.deepEqual(await list("scope=Range"), ["198.51.100.0/24"]);
    assert.deepEqual(await list("range=198.51.100.0/25"), ["198.51.100.0/24"]);
    assert.deepEqual(await list("range=198.51.100.0/24&contains=false"), [
      "198.51.100.0/24",
      "198.51.100.9",
    ]);
    assert.deepEqual(await list("type=ban&ip=198.51.100.9"), ["198.51.100.0/24"]);
    assert.deepEqual(await list("scope=account"), []);
    assert.deepEqual(await list(""), ["198.51.100.0/24", "198.51.100.9", "203.0.113.7"]);
    const bad = await get("/v1/decisions?limit=5");
    assert.equal(bad.status, 400);
    assert.match(String(bad.body), /Authorization: Bearer/);
  });

  test("with a bearer token the same path keeps Rempart's shape", async () => {
    await decide("ban", "ip", "203.0.113.7");
    const r = await api.handle({
      method: "GET",
      path: "/v1/decisions",
      headers: { authorization: `Bearer ${bouncer}` },
    });
    assert.equal((JSON.parse(String(r.body)) as { decisions: unknown[] }).decisions.length, 1);
    const crowdsecOnly = await api.handle({
      method: "GET",
      path: "/v1/decisions",
      query: "ip=203.0.113.7",
      headers: { authorization: `Bearer ${bouncer}` },
    });
    assert.equal(crowdsecOnly.status, 400);
    assert.match(String(crowdsecOnly.body), /X-Api-Key/);
  });

  test("the stream: everything at startup, then only what changed, per bouncer", async () => {
    const pull = async (q = "", key = bouncer) => {
      const r = await get(`/v1/decisions/stream${q}`, key);
      assert.equal(r.status, 200, String(r.body));
      return STREAM.parse(JSON.parse(String(r.body)));
    };
    assert.deepEqual(await pull("?startup=true"), { deleted: null, new: null });
    const a = await decide("ban", "ip", "203.0.113.7");
    await decide("challenge", "range", "198.51.100.0/24");
    await decide("throttle", "ip", "198.51.100.200");
    const first = await pull();
    assert.deepEqual(values(first.new), ["198.51.100.0/24", "203.0.113.7"]);
    assert.equal(first.deleted, null);
    assert.deepEqual(await pull(), { deleted: null, new: null });

    await remove(a);
    const b = await decide("ban", "ip", "192.0.2.77");
    await remove(b); // added and removed between two pulls: the bouncer never hears of it
    const second = await pull();
    assert.deepEqual(values(second.deleted), ["203.0.113.7"]);
    assert.equal(second.new, null);
    assert.match(second.deleted![0]!.duration, /^\d/);

    // another key has its own position: it starts with the whole set
    assert.deepEqual(values((await pull("", other)).new), ["198.51.100.0/24"]);
    // startup=true starts over
    assert.deepEqual(values((await pull("?startup=true")).new), ["198.51.100.0/24"]);
    const ids = new Set([...((await pull("?startup=true")).new ?? [])].map((d) => d.id));
    assert.equal(ids.size, 1);
    // What current CrowdSec clients (go-cs-bouncer) add to every pull is taken, and ignored.
    const current = "?startup=true&community_pull=false&additional_pull=false";
    assert.deepEqual(values((await pull(current)).new), ["198.51.100.0/24"]);
  });

  test("the stream needs a key, and honours scopes", async () => {
    const r = await api.handle({ method: "GET", path: "/v1/decisions/stream" });
    assert.equal(r.status, 401);
    await decide("ban", "ip", "203.0.113.7");
    await decide("ban", "range", "198.51.100.0/24");
    const body = STREAM.parse(
      JSON.parse(String((await get("/v1/decisions/stream?startup=true&scopes=ip")).body)),
    );
    assert.deepEqual(values(body.new), ["203.0.113.7"]);
  });

  test("after a restart, a bouncer still gets the deletions it had not pulled", async () => {
    const pull = async (on: Api, q = "", key = bouncer) => {
      const r = await on.handle({
        method: "GET",
        path: "/v1/decisions/stream",
        ...(q !== "" && { query: q }),
        headers: { "x-api-key": key },
      });
      assert.equal(r.status, 200, String(r.body));
      return STREAM.parse(JSON.parse(String(r.body)));
    };
    const tick = () => runtime.clock.advance(runtime.clock.now() + 1_000);
    const lifted = await decide("ban", "ip", "203.0.113.7");
    await decide("ban", "ip", "192.0.2.5");
    const expiring = await decide("ban", "ip", "192.0.2.6", "2s");
    tick();
    assert.deepEqual(values((await pull(api, "startup=true")).new), [
      "192.0.2.5",
      "192.0.2.6",
      "203.0.113.7",
    ]);
    tick();
    await remove(lifted); // by hand, before the bouncer's next pull
    const unseen = await decide("ban", "ip", "198.51.100.9");
    await remove(unseen); // made and lifted between two pulls: the bouncer never had it
    await remove(expiring);
    tick();
    tick(); // 192.0.2.6 would have ended by now: the bouncer's own timeout took it out

    // Rempart restarts: the positions in memory and the feed are gone, the store is not.
    const restarted = createApi({ ...runtime, feed: new DecisionFeed() }, { logError: () => {} });
    const after = await pull(restarted);
    assert.deepEqual(values(after.new), ["192.0.2.5"]);
    assert.deepEqual(values(after.deleted), ["203.0.113.7"]);
    assert.deepEqual(await pull(restarted), { deleted: null, new: null });
    // A bouncer starting up, or one never seen before, gets the active set and no deletion.
    assert.deepEqual(await pull(restarted, "", other), {
      deleted: null,
      new: (await pull(restarted, "startup=true")).new,
    });
  });

  test("usage metrics from current bouncers are taken as CrowdSec takes them, and not kept", async () => {
    const post = (body: string, headers: Record<string, string>) =>
      api.handle({
        method: "POST",
        path: "/v1/usage-metrics",
        headers: { "content-type": "application/json", ...headers },
        body: Buffer.from(body),
      });
    const report = JSON.stringify({
      remediation_components: [{ type: "crowdsec-firewall-bouncer", metrics: [] }],
    });
    const r = await post(report, { "x-api-key": bouncer });
    assert.equal(r.status, 201, String(r.body));
    assert.equal(r.body ?? "", "");
    assert.equal((await post(report, {})).status, 401);
    assert.equal((await post("[1]", { "x-api-key": bouncer })).status, 400);
  });

  test("a bouncer that fell out of the feed gets the deletions since its last pull", async () => {
    const small = new DecisionFeed(2);
    runtime.feed.subscribe((c) => small.push(c.kind, c.decision, c.at));
    const cursors = new BouncerCursors(small, runtime.storage);
    const now = () => runtime.clock.now();
    const active = () => runtime.activeDecisions();
    const held = () => false;
    const a = await decide("ban", "ip", "203.0.113.7");
    runtime.clock.advance(now() + 1_000);
    await cursors.pull(bouncer, true, now(), active, held);
    runtime.clock.advance(now() + 1_000);
    await remove(a);
    for (const v of ["192.0.2.1", "192.0.2.2", "192.0.2.3"]) await decide("ban", "ip", v);
    const r = await cursors.pull(bouncer, false, now(), active, held);
    assert.deepEqual(r.added.map((d) => d.value).sort(), ["192.0.2.1", "192.0.2.2", "192.0.2.3"]);
    assert.deepEqual(
      r.deleted.map((d) => d.value),
      ["203.0.113.7"],
    );
  });

  test("a pull the database could not record is retried from the same place", async () => {
    let failing = false;
    const cursors = new BouncerCursors(runtime.feed, {
      bouncerPull: (k) => runtime.storage.bouncerPull(k),
      listDecisions: (q) => runtime.storage.listDecisions(q),
      saveBouncerPull: (k, at) =>
        failing ? Promise.reject(new Error("disk full")) : runtime.storage.saveBouncerPull(k, at),
    });
    const pull = () =>
      cursors.pull(
        bouncer,
        false,
        runtime.clock.now(),
        () => runtime.activeDecisions(),
        () => false,
      );
    await pull();
    await decide("ban", "ip", "203.0.113.7");
    failing = true;
    await assert.rejects(pull(), /disk full/);
    failing = false;
    assert.deepEqual(
      (await pull()).added.map((d) => d.value),
      ["203.0.113.7"],
    );
  });
});
