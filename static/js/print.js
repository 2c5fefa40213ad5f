// The printable offer's "Print" button (templates/applications/offer_print.html). A static file,
// not an inline script: the site's Content Security Policy will allow scripts from itself only.
"use strict";

for (const button of document.querySelectorAll("[data-lp-print]")) {
  button.addEventListener("click", () => window.print());
}
