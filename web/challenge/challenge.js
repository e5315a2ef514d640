// The challenge page's script (docs/forward-auth.md): once the widget has solved its proof of
// work, trade the solution for a pass (a cookie), then go back where the visitor was going.
// Served by Rempart at <challenge_url>challenge.js; the page's CSP runs no inline script.

const status = document.getElementById("status");
const widget = document.querySelector("altcha-widget");

/** The page's language (Rempart picks it from Accept-Language): its messages. */
const TEXT = {
  en: {
    cookies: "This check needs cookies: allow them for this site, then reload.",
    done: "Done. Taking you back…",
    unreachable: "The site could not be reached. Reload the page to try again.",
    failed: (why) => `The check failed (${why}). Reload the page to try again.`,
    refused:
      "Back here again: your browser did not keep this site's cookie, or your network changed your address. Allow cookies for this site, then reload.",
    error: "The check could not start. Reload the page to try again.",
    expired: "The check expired; it starts again.",
  },
  fr: {
    cookies:
      "Cette vérification a besoin des cookies : autorisez-les pour ce site, puis rechargez.",
    done: "C'est fait. Retour à la page…",
    unreachable: "Le site ne répond pas. Rechargez la page pour réessayer.",
    failed: (why) => `La vérification a échoué (${why}). Rechargez la page pour réessayer.`,
    refused:
      "Encore ici : votre navigateur n'a pas gardé le cookie de ce site, ou votre réseau a changé votre adresse. Autorisez les cookies pour ce site, puis rechargez.",
    error: "La vérification n'a pas pu démarrer. Rechargez la page pour réessayer.",
    expired: "La vérification a expiré ; elle recommence.",
  },
}[document.documentElement.lang === "fr" ? "fr" : "en"];

function say(text, state = "") {
  status.textContent = text;
  status.dataset.state = state;
}

if (!navigator.cookieEnabled) say(TEXT.cookies, "error");

/** Where to go back: the `return` the proxy gave, which Rempart vets again. */
const back = new URLSearchParams(location.search).get("return") ?? "/";

widget.addEventListener("verified", async (event) => {
  say(TEXT.done);
  let answer;
  try {
    answer = await fetch("pass", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ altcha: event.detail.payload, return: back }),
      credentials: "same-origin",
    });
  } catch {
    say(TEXT.unreachable, "error");
    return;
  }
  if (!answer.ok) {
    const { message } = await answer.json().catch(() => ({ message: `HTTP ${answer.status}` }));
    say(TEXT.failed(message), "error");
    return;
  }
  const { return: to } = await answer.json();
  // Back here within a minute for the same page: the browser did not keep the pass.
  const tried = JSON.parse(sessionStorage.getItem("rempart-pass") ?? "{}");
  if (tried.to === to && Date.now() - tried.at < 60_000) {
    sessionStorage.removeItem("rempart-pass");
    say(TEXT.refused, "error");
    return;
  }
  sessionStorage.setItem("rempart-pass", JSON.stringify({ to, at: Date.now() }));
  location.replace(to);
});

widget.addEventListener("statechange", (event) => {
  if (event.detail.state === "error") say(TEXT.error, "error");
  else if (event.detail.state === "expired") say(TEXT.expired);
});
