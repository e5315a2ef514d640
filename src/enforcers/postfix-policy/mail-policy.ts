/**
 * What Rempart answers Postfix, and what it learns from the asking. Each authenticated message
 * becomes one `mail.submitted` event (at DATA or END-OF-MESSAGE, once per message), fed to
 * detection before the answer is chosen: the message that makes an account's volume cross its
 * threshold is already held. Answers come from the active decisions on the client address, the
 * SASL user and the sender.
 */
import { RecentKeys, type Decision, type Event } from "../../core/index.ts";
import type { Subject } from "../../decisions/index.ts";
import { normalizeIp } from "../../net/index.ts";
import type { PolicyRequest } from "./policy-protocol.ts";

export interface MailPolicyDeps {
  /** Active decisions on a subject, now. */
  readonly check: (subject: Subject) => readonly Decision[];
  /** Feeds an event to detection, synchronously. */
  readonly ingest: (event: Event) => void;
  readonly now: () => number;
}

/** The Postfix action for each decision action that applies to mail, strongest first. */
const ANSWERS: readonly (readonly [Decision["action"], (d: Decision) => string])[] = [
  ["ban", () => "REJECT 5.7.1 Access refused by the mail service's abuse protection"],
  ["suspend", () => "REJECT 5.7.1 This account is suspended: contact your mail administrator"],
  ["hold", (d) => `HOLD Rempart ${d.scenario}: ${d.reason.slice(0, 200)}`],
  ["throttle", () => "DEFER_IF_PERMIT 4.7.1 Too much mail from this account: try again later"],
];

export class MailPolicy {
  readonly #deps: MailPolicyDeps;
  readonly #counted = new RecentKeys(100_000);

  constructor(deps: MailPolicyDeps) {
    this.#deps = deps;
  }

  decide(req: PolicyRequest): string {
    const ip = req.client_address === undefined ? undefined : normalizeIp(req.client_address);
    const account =
      req.sasl_username !== undefined && req.sasl_username !== "" ? req.sasl_username : undefined;
    const sender =
      req.sender !== undefined && req.sender !== "" ? req.sender.toLowerCase() : undefined;
    const state = req.protocol_state?.toUpperCase();

    if (account !== undefined && (state === "END-OF-MESSAGE" || state === "DATA")) {
      // Once per message: smtpd may ask at DATA and again at END-OF-MESSAGE.
      const id = `${req.instance ?? ""}/${req.queue_id ?? ""}/${req.client_address ?? ""}`;
      if (this.#counted.add(id)) this.#deps.ingest(this.#event(req, ip, account, sender));
    }

    const found = this.#deps.check({
      ...(ip === undefined ? {} : { ip }),
      ...(account === undefined ? {} : { account }),
      ...(sender === undefined ? {} : { email: sender }),
    });
    if (found.length === 0) return "DUNNO";
    for (const [action, answer] of ANSWERS) {
      const d = found.find((x) => x.action === action);
      if (d) return answer(d);
    }
    return "DUNNO";
  }

  #event(
    req: PolicyRequest,
    ip: string | undefined,
    account: string,
    sender: string | undefined,
  ): Event {
    const nrcpt = Number(req.recipient_count);
    const size = Number(req.size);
    return {
      id: `policy:${req.instance ?? ""}:${req.queue_id ?? ""}`,
      type: "mail.submitted",
      time: this.#deps.now(),
      tzOffset: 0,
      service: "postfix",
      ...(ip === undefined ? {} : { ip }),
      account,
      ...(sender === undefined ? {} : { email: sender }),
      fields: {
        queue_id: req.queue_id ?? null,
        nrcpt: Number.isFinite(nrcpt) && nrcpt > 0 ? nrcpt : 1,
        size: Number.isFinite(size) ? size : null,
        sender: sender ?? null,
        via: "policy",
      },
    };
  }
}
