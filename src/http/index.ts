export {
  createApi,
  type Api,
  type ApiOptions,
  type ApiRequest,
  type ApiResponse,
  type HeaderValue,
} from "./api.ts";
export {
  API_ROLES,
  ApiKeyVerifier,
  createApiKey,
  parseApiKey,
  type ApiKeyVerifierOptions,
  type Caller,
} from "./api-keys.ts";
export { startHttpServer, type HttpServer, type HttpServerOptions } from "./http-server.ts";
export { startApiThreads, type ApiThreads, type ApiThreadsOptions } from "./api-threads.ts";
export { openApiDocument } from "./openapi.ts";
export { ROUTES, type RouteSpec } from "./routes.ts";
