// Ticket form: offer only the chosen family's components; show the emergency notice for "Kritisch".
(function () {
  var family = document.getElementById("product_family");
  var component = document.getElementById("component");
  var priority = document.getElementById("priority");
  var emergency = document.getElementById("emergency");
  function filterComponents() {
    var groups = component.querySelectorAll("optgroup");
    for (var i = 0; i < groups.length; i++) {
      var match = groups[i].getAttribute("data-family") === family.value;
      groups[i].hidden = !match;
      groups[i].disabled = !match;
    }
    var selected = component.selectedOptions[0];
    if (selected && selected.parentNode.disabled) { component.value = ""; }
  }
  function toggleEmergency() { emergency.hidden = priority.value !== "critical"; }
  if (family && component) { family.addEventListener("change", filterComponents); filterComponents(); }
  if (priority && emergency) { priority.addEventListener("change", toggleEmergency); toggleEmergency(); }
})();
