// Shared behaviour of every page (loaded by base.html; the CSP allows no inline handlers).
// A form with data-confirm asks before it submits.
document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form instanceof HTMLFormElement ? form.dataset.confirm : undefined;
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
