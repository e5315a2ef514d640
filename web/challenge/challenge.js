// The challenge page's script (docs/forward-auth.md): once the widget has solved its proof of
// work, trade the solution for a pass (a cookie), then go back where the visitor was going.
// Served by Rempart at <challenge_url>challenge.js; the page's CSP runs no inline script.

const status = document.getElementById("status");
const widget = document.querySelector("altcha-widget");

function say(text, state = "") {
  status.textContent = text;
  status.dataset.state = state;
}

if (!navigator.cookieEnabled)
  say("This check needs cookies: allow them for this site, then reload.", "error");

/** Where to go back: the `return` the proxy gave, which Rempart vets again. */
const back = new URLSearchParams(location.search).get("return") ?? "/";

widget.addEventListener("verified", async (event) => {
  say("Done. Taking you back…");
  let answer;
  try {
    answer = await fetch("pass", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ altcha: event.detail.payload, return: back }),
      credentials: "same-origin",
    });
  } catch {
    say("The site could not be reached. Reload the page to try again.", "error");
    return;
  }
  if (!answer.ok) {
    const { message } = await answer.json().catch(() => ({ message: `HTTP ${answer.status}` }));
    say(`The check failed (${message}). Reload the page to try again.`, "error");
    return;
  }
  const { return: to } = await answer.json();
  // Back here within a minute for the same page: the browser did not keep the pass.
  const tried = JSON.parse(sessionStorage.getItem("rempart-pass") ?? "{}");
  if (tried.to === to && Date.now() - tried.at < 60_000) {
    sessionStorage.removeItem("rempart-pass");
    say(
      "Your browser did not keep this site's cookie: allow cookies for it, then reload.",
      "error",
    );
    return;
  }
  sessionStorage.setItem("rempart-pass", JSON.stringify({ to, at: Date.now() }));
  location.replace(to);
});

widget.addEventListener("statechange", (event) => {
  if (event.detail.state === "error")
    say("The check could not start. Reload the page to try again.", "error");
  else if (event.detail.state === "expired") say("The check expired; it starts again.");
});
