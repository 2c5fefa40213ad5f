// The reply form of a question thread: picking a canned answer puts its text into the message box,
// where it may still be edited (reviews.forms.CannedAnswerSelect gives each option its text).
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("select[data-canned-for]").forEach((select) => {
    const box = document.getElementById(select.dataset.cannedFor);
    if (!box) return;
    select.addEventListener("change", () => {
      const option = select.options[select.selectedIndex];
      if (option && option.dataset.text) box.value = option.dataset.text;
    });
  });
});
