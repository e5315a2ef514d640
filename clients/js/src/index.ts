export {
  RempartGuard,
  RempartGuardError,
  UNAVAILABLE_REASON,
  type AccountState,
  type AppEvent,
  type Assessment,
  type FormToken,
  type RempartGuardErrorKind,
  type RempartGuardOptions,
  type Submission,
  type Verdict,
} from "./rempart-guard.ts";
export {
  ALTCHA_FIELD,
  TOKEN_FIELD,
  altchaWidget,
  escapeHtml,
  formFields,
  splitForm,
  type AltchaWidgetOptions,
} from "./html.ts";
