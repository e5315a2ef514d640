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

/** The stages at which a message is whole: DATA, END-OF-MESSAGE (any case). */
const MESSAGE_STAGE = /^(?:data|end-of-message)$/i;

function countsMessage(state: string | undefined): boolean {
  return (
    state === "END-OF-MESSAGE" ||
    state === "DATA" ||
    (state !== undefined && MESSAGE_STAGE.test(state))
  );
}

/** Lower case, without a new string when there is nothing to lower (the usual case). */
function lowerCase(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c >= 65 && c <= 90) || c > 127) return s.toLowerCase();
  }
  return s;
}

export class MailPolicy {
  readonly #deps: MailPolicyDeps;
  /**
   * Messages without a queue id already counted, by smtpd instance. smtpd asks at DATA and at
   * END-OF-MESSAGE of one message with at most its other processes' requests between (100 by
   * default): a few thousand is ample.
   */
  readonly #counted = new RecentKeys(4096);

  constructor(deps: MailPolicyDeps) {
    this.#deps = deps;
  }

  decide(req: PolicyRequest): string {
    // Tens of thousands of requests a second: nothing here allocates that need not.
    const address = req.get("client_address");
    const ip = address === undefined ? undefined : normalizeIp(address);
    const user = req.get("sasl_username");
    // Without case, as the logs are read (src/sources/scan.ts).
    const account = user !== undefined && user !== "" ? user.toLowerCase() : undefined;
    const from = req.get("sender");
    const sender = from !== undefined && from !== "" ? lowerCase(from) : undefined;

    if (account !== undefined && countsMessage(req.get("protocol_state"))) {
      // Once per message, though smtpd may ask at DATA and again at END-OF-MESSAGE: detection
      // counts a queue id once, however often it hears of it (here or in the log); a message
      // without one yet is told by its smtpd instance.
      const instance = req.get("instance") ?? "";
      const queueId = req.get("queue_id");
      if ((queueId !== undefined && queueId !== "") || this.#counted.add(instance))
        this.#deps.ingest(this.#event(req, instance, queueId, ip, account, sender));
    }

    const subject: { ip?: string; account?: string; email?: string } = {};
    if (ip !== undefined) subject.ip = ip;
    if (account !== undefined) subject.account = account;
    if (sender !== undefined) subject.email = sender;
    const found = this.#deps.check(subject);
    if (found.length === 0) return "DUNNO";
    for (const [action, answer] of ANSWERS)
      for (const d of found) if (d.action === action) return answer(d);
    return "DUNNO";
  }

  #event(
    req: PolicyRequest,
    instance: string,
    queueId: string | undefined,
    ip: string | undefined,
    account: string,
    sender: string | undefined,
  ): Event {
    const nrcpt = Number(req.get("recipient_count"));
    const size = Number(req.get("size"));
    return {
      id: `policy:${instance}:${queueId ?? ""}`,
      type: "mail.submitted",
      time: this.#deps.now(),
      tzOffset: 0,
      service: "postfix",
      ...(ip === undefined ? {} : { ip }),
      account,
      ...(sender === undefined ? {} : { email: sender }),
      fields: {
        queue_id: queueId ?? null,
        nrcpt: Number.isFinite(nrcpt) && nrcpt > 0 ? nrcpt : 1,
        size: Number.isFinite(size) ? size : null,
        sender: sender ?? null,
        via: "policy",
      },
    };
  }
}
