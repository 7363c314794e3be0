// Page module of the printable case record: the print button (no inline handlers).
for (const button of document.querySelectorAll("[data-print]")) button.addEventListener("click", () => window.print());
