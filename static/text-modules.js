// Textbausteine on the console's ticket page: "Einfügen" puts the chosen module's text (filled
// in for this ticket by the server) into the answer or note of the same form, at the cursor.
document.querySelectorAll("button[data-insert-text-module]").forEach(function (button) {
  button.addEventListener("click", function () {
    var form = button.closest("form");
    var select = form.querySelector("select.text-module");
    var area = form.querySelector("textarea[name=text]");
    var option = select.options[select.selectedIndex];
    if (!option || !area) {
      return;
    }
    var text = option.getAttribute("data-text");
    var start = area.selectionStart;
    var end = area.selectionEnd;
    area.value = area.value.slice(0, start) + text + area.value.slice(end);
    area.focus();
    area.selectionStart = area.selectionEnd = start + text.length;
  });
});
