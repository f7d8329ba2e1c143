// Required fields speak Chinese: the browser's own tooltip ("Please fill out this field") is replaced
// by the field's data-required-message (or a general one). Loaded as a file: the CSP allows no inline
// handlers.
(() => {
  const FALLBACK = "请填写此项";
  const message = (el) => el.dataset.requiredMessage || FALLBACK;
  document.addEventListener("invalid", (event) => {
    const el = event.target;
    if (el instanceof HTMLElement && "setCustomValidity" in el && el.validity.valueMissing) {
      el.setCustomValidity(message(el));
    }
  }, true);
  // Typing clears the message, so the browser checks the field afresh on the next submit.
  const clear = (event) => {
    const el = event.target;
    if (el instanceof HTMLElement && "setCustomValidity" in el) {
      el.setCustomValidity("");
    }
  };
  document.addEventListener("input", clear, true);
  document.addEventListener("change", clear, true);
})();
