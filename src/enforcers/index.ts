/**
 * The enforcer plugins Rempart knows. The configuration's `enforcers:` section has one optional
 * key per plugin, checked with the plugin's own schema.
 */
import { dnsblPlugin } from "./dnsbl/index.ts";
import { hooksPlugin } from "./hooks/index.ts";
import { nftablesPlugin } from "./nftables/index.ts";
import { postfixPolicyPlugin } from "./postfix-policy/index.ts";
import type { RegisteredPlugin } from "./plugin.ts";

export const ENFORCER_PLUGINS: readonly RegisteredPlugin[] = Object.freeze([
  dnsblPlugin,
  hooksPlugin,
  nftablesPlugin,
  postfixPolicyPlugin,
]);

export {
  pushEnforcer,
  type EnforcerDeps,
  type EnforcerPlugin,
  type EnforcerService,
  type RegisteredPlugin,
  type PushOptions,
} from "./plugin.ts";
