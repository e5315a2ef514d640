export {
  FormTokens,
  HONEYPOT_NAMES,
  type FormTokenCheck,
  type FormTokensOptions,
  type TokenFailure,
} from "./form-tokens.ts";
export {
  createFormTokens,
  FormTokenConfigSchema,
  formTokenLimits,
  type FormTokenConfig,
  type FormTokenConfigInput,
  type FormTokenLimits,
} from "./token-config.ts";
