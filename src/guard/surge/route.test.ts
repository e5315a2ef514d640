import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { compilePattern, isIdSegment, RouteNormalizer } from "./route.ts";
import { SurgeConfigSchema } from "./surge-config.ts";

describe("RouteNormalizer", () => {
  const r = new RouteNormalizer(["/petition/:slug", "/api/*"]);
  const route = (p: string) => {
    const x = r.of(p);
    return x.kind === "page" ? x.route : "static";
  };

  it("strips the query and collapses identifiers", () => {
    assert.equal(route("/search?q=jeff+bezos&page=3"), "/search");
    assert.equal(route("/listing/42/"), "/listing/:id");
    assert.equal(route("/u/3f2a9c0b1d/edit#top"), "/u/:id/edit");
    assert.equal(route("/t/123e4567-e89b-12d3-a456-426614174000"), "/t/:id");
    assert.equal(route("/reset/AbCdEf0123456789xyz"), "/reset/:id");
    assert.equal(route("/about-us"), "/about-us");
    assert.equal(route("/deadbeefcafe"), "/deadbeefcafe", "letters only: a word, not a hash");
    assert.equal(route("/"), "/");
    assert.equal(route(""), "/");
  });

  it("tells static assets apart, and applies configured patterns first", () => {
    assert.equal(route("/static/app.CSS?v=3"), "static");
    assert.equal(route("/img/logo.png"), "static");
    assert.equal(route("/report.pdf"), "/report.pdf");
    assert.equal(route("/petition/stop-the-dam"), "/petition/:slug");
    assert.equal(route("/petition/stop-the-dam/sign"), "/petition/stop-the-dam/sign");
    assert.equal(route("/api/v1/things/7"), "/api/*");
    assert.equal(route("/api"), "/api/*");
  });

  it("compiles patterns to anchored expressions", () => {
    assert.ok(compilePattern("/a/:x/b").test("/a/1/b"));
    assert.ok(!compilePattern("/a/:x/b").test("/a/1/b/c"));
    assert.ok(!compilePattern("/a.b").test("/axb"));
  });

  it("answers a bounded route starting with / for any path, and is idempotent", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (p) => {
        const x = r.of(p);
        if (x.kind === "static") return;
        assert.ok(x.route.startsWith("/"));
        assert.ok(x.route.length <= 200);
        assert.ok(!x.route.includes("?") && !x.route.includes("#"));
        const again = r.of(x.route);
        if (x.route.length < 200) assert.deepEqual(again, x);
      }),
    );
  });

  it("treats any number of trailing slashes as none", () => {
    assert.deepEqual(r.of(" //"), r.of("/ "));
    assert.deepEqual(r.of("/a//"), r.of("/a"));
    assert.deepEqual(r.of("//"), { kind: "page", route: "/" });
  });

  it("counts numbers and hashes as identifiers, words not", () => {
    fc.assert(fc.property(fc.nat(), (n) => assert.ok(isIdSegment(String(n)))));
    fc.assert(fc.property(fc.stringMatching(/^[a-z-]{1,30}$/), (w) => assert.ok(!isIdSegment(w))));
  });

  it("an asset stays an asset under a pattern that would take it; a pattern's final / is none", () => {
    const wide = new RouteNormalizer(["/petition/:slug/", "/*"]);
    assert.deepEqual(wide.of("/static/app.js"), { kind: "static" });
    assert.deepEqual(wide.of("/petition/abc/"), { kind: "page", route: "/petition/:slug/" });
    assert.deepEqual(wide.of("/petition/abc"), { kind: "page", route: "/petition/:slug/" });
    assert.deepEqual(wide.of("/contact"), { kind: "page", route: "/*" });
  });

  it("refuses a pattern that could never match: a * before the last segment", () => {
    const routes = (r: string[]) => SurgeConfigSchema.safeParse({ routes: r }).success;
    assert.equal(routes(["/petition/*/sign"]), false);
    assert.equal(routes(["/a/b*"]), false);
    assert.equal(routes(["/", "/api/*", "/petition/:slug", "/petition/:slug/"]), true);
  });
});
