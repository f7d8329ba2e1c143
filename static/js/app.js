// Shared behaviour of every page (loaded by base.html; the CSP allows no inline handlers).
// A form with data-confirm asks before it submits.
document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form instanceof HTMLFormElement ? form.dataset.confirm : undefined;
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});

// The browser's own messages for required or malformed fields follow the browser's language (often
// English): say it in Chinese. A field's data-required-message overrides the default wording.
function chineseValidity(field) {
  const v = field.validity;
  if (v.valueMissing) return field.dataset.requiredMessage || (field.type === "checkbox" ? "请勾选此项" : field.tagName === "SELECT" ? "请选择一项" : "请填写此项");
  if (v.tooShort) return `至少 ${field.minLength} 个字（现为 ${field.value.length} 个）`;
  if (v.tooLong) return `最多 ${field.maxLength} 个字`;
  if (v.rangeUnderflow) return `不能小于 ${field.min}`;
  if (v.rangeOverflow) return `不能大于 ${field.max}`;
  if (v.stepMismatch) return "请填写有效的数值";
  if (v.typeMismatch || v.badInput || v.patternMismatch) return field.title || "格式不正确";
  return "";
}
document.addEventListener("invalid", (event) => {
  const field = event.target;
  field.setCustomValidity("");
  if (!field.validity.valid) field.setCustomValidity(chineseValidity(field));
}, true);
document.addEventListener("input", (event) => {
  if (event.target.setCustomValidity) event.target.setCustomValidity("");
}, true);
