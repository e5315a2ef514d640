/** Generates the OpenAPI 3.1 document from the route table, so the two cannot drift apart. */
import { z } from "zod";
import {
  AlertView,
  CrowdsecDecisionView,
  DecisionView,
  ErrorView,
  type RouteSpec,
} from "./routes.ts";

type JsonObject = Record<string, unknown>;

const COMPONENT = (id: string): string => `#/components/schemas/${id}`;
const SECURED = [{ bearer: [] }, { apiKey: [] }];

const ERRORS: Readonly<Record<number, string>> = {
  400: "The request is invalid (INPUT_INVALID); the message says where.",
  401: "The API key is missing, unknown or wrong (UNAUTHORIZED).",
  403: "The key's role does not allow this route (FORBIDDEN).",
  404: "Not found (NOT_FOUND).",
  422: "Refused by the safety policy (DECISION_REFUSED); the message says why.",
  429: "Asked too often from this address (RATE_LIMITED); try again after `Retry-After` seconds.",
  500: "An internal error; details are in the daemon's log, never in the answer.",
};

/** `/v1/decisions/:id` → `/v1/decisions/{id}`. */
export const openApiPath = (path: string): string => path.replace(/:(\w+)/g, "{$1}");

function withoutMeta(schema: unknown): JsonObject {
  const rest = { ...(schema as JsonObject) };
  delete rest.$schema;
  delete rest.$id;
  return rest;
}

function capitalised(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** The members of an object schema as OpenAPI parameters (`in: query` or `in: path`). */
function parameters(schema: z.ZodType | undefined, where: "query" | "path"): JsonObject[] {
  if (!(schema instanceof z.ZodObject)) return [];
  return Object.entries(schema.shape as Record<string, z.ZodType>).map(([name, field]) => {
    const { description, ...json } = withoutMeta(z.toJSONSchema(field, { io: "input" }));
    return {
      name,
      in: where,
      required: where === "path" || field._zod.optin !== "optional",
      ...(typeof description === "string" && { description }),
      schema: json,
    };
  });
}

/** Roles that may call a route, for people: admin is always among them. */
export function rolesOf(spec: RouteSpec, metricsRequireKey = false): readonly string[] {
  if (spec.access === "public") return [];
  if (spec.access === "metrics") return metricsRequireKey ? ["any key"] : [];
  return ["admin", ...spec.access.filter((r) => r !== "admin")];
}

export function openApiDocument(
  routes: Readonly<Record<string, RouteSpec>>,
  info: { readonly version: string; readonly metricsRequireKey?: boolean },
): JsonObject {
  const registry = z.registry<{ id: string }>();
  registry.add(DecisionView, { id: "Decision" });
  registry.add(AlertView, { id: "Alert" });
  registry.add(ErrorView, { id: "Error" });
  registry.add(CrowdsecDecisionView, { id: "CrowdsecDecision" });
  for (const [name, spec] of Object.entries(routes)) {
    if (spec.body !== undefined) registry.add(spec.body, { id: `${capitalised(name)}Request` });
    for (const [status, r] of Object.entries(spec.responses))
      if (r.schema !== undefined && registry.get(r.schema) === undefined)
        registry.add(r.schema, { id: `${capitalised(name)}Response${status}` });
  }
  // Input mode: request schemas transform (strings to numbers); responses do not, so it is
  // the same for them.
  const converted = z.toJSONSchema(registry, { io: "input", uri: COMPONENT }).schemas;
  const schemas: Record<string, JsonObject> = {};
  for (const [id, s] of Object.entries(converted)) schemas[id] = withoutMeta(s);
  const ref = (schema: z.ZodType): JsonObject => ({ $ref: COMPONENT(registry.get(schema)!.id) });
  const errorBody = { "application/json": { schema: { $ref: COMPONENT("Error") } } };

  const paths: Record<string, Record<string, JsonObject>> = {};
  for (const [name, spec] of Object.entries(routes)) {
    const keyed =
      spec.access === "metrics" ? info.metricsRequireKey === true : spec.access !== "public";
    const responses: Record<string, JsonObject> = {};
    for (const [status, r] of Object.entries(spec.responses)) {
      responses[status] = {
        description: r.description,
        ...(r.schema !== undefined && {
          content: { "application/json": { schema: ref(r.schema) } },
        }),
        ...(r.contentType !== undefined && {
          content: { [r.contentType]: { schema: { type: "string" } } },
        }),
      };
    }
    const errors = [
      ...(spec.query !== undefined || spec.body !== undefined || spec.params !== undefined
        ? [400]
        : []),
      ...(keyed ? [401] : []),
      ...(Array.isArray(spec.access) ? [403] : []),
      ...(spec.params !== undefined ? [404] : []),
      ...(name === "addDecision" ? [422] : []),
      ...(name === "guardChallenge" ? [429] : []),
      500,
    ];
    for (const status of errors)
      responses[String(status)] = { description: ERRORS[status], content: errorBody };
    const roles = rolesOf(spec, info.metricsRequireKey);
    const operation: JsonObject = {
      operationId: name,
      summary: spec.summary,
      description: [
        spec.description,
        roles.length > 0
          ? `Roles: ${roles.join(", ")}.`
          : spec.access === "metrics"
            ? "No key needed, unless `http.metrics_require_key` is set."
            : "No key needed.",
      ]
        .filter((s) => s !== undefined)
        .join("\n\n"),
      security: keyed ? SECURED : [],
      "x-rempart-roles": roles,
      parameters: [...parameters(spec.params, "path"), ...parameters(spec.query, "query")],
      ...(spec.body !== undefined && {
        requestBody: {
          required: true,
          content: { "application/json": { schema: ref(spec.body) } },
        },
      }),
      responses,
    };
    const path = openApiPath(spec.path);
    paths[path] = { ...paths[path], [spec.method.toLowerCase()]: operation };
  }

  return {
    openapi: "3.1.0",
    info: {
      title: "Rempart API",
      version: info.version,
      description:
        "Rempart's HTTP API. Errors are `{ code, message }` with a stable code. Authenticate " +
        "with `Authorization: Bearer <key>` or `X-Api-Key: <key>`; keys are made with " +
        "`rempart keys create`.",
    },
    paths,
    components: {
      schemas,
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", description: "An API key: rmp_<id>_<secret>." },
        apiKey: { type: "apiKey", in: "header", name: "X-Api-Key" },
      },
    },
  };
}
