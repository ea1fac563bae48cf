// Contact person form: ticking "external" clears the newsletter channels, because an external
// person (e.g. an external data protection officer) gets no newsletter unless agreed.
document.addEventListener("DOMContentLoaded", () => {
  const external = document.getElementById("external");
  if (!external) return;
  external.addEventListener("change", () => {
    if (!external.checked) return;
    document.querySelectorAll('input[name="newsletter_channels"]').forEach((box) => { box.checked = false; });
  });
});
