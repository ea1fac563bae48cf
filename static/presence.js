// Collision notice on the console's ticket page: every 15 seconds tell the server this agent
// still has the ticket open (and whether they are typing an answer or note), and show who
// else does. Presence lives 45 seconds in Redis (tickets/presence.py).
(function () {
  var notice = document.getElementById("presence");
  if (!notice) {
    return;
  }
  var url = notice.getAttribute("data-url");
  var token = notice.getAttribute("data-csrf");
  var lastTyped = 0;
  document.querySelectorAll("textarea[name=text]").forEach(function (area) {
    area.addEventListener("input", function () {
      // The first keystroke after a pause is told at once, so a colleague learns of the answer
      // being written with their next beat rather than one beat later.
      var startsWriting = Date.now() - lastTyped >= 20000;
      lastTyped = Date.now();
      if (startsWriting) {
        beat();
      }
    });
  });
  function beat() {
    var body = new FormData();
    body.append("csrf_token", token);
    body.append("writing", Date.now() - lastTyped < 20000 ? "1" : "0");
    fetch(url, { method: "POST", body: body, credentials: "same-origin" })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (answer) {
        if (answer) {
          notice.textContent = answer.notice;
          notice.hidden = !answer.notice;
        }
      })
      .catch(function () {});
  }
  setInterval(beat, 15000);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") {
      beat();
    }
  });
})();
