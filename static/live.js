// Live parts of a page (helpdesk/live.py): an element with data-live-url names a fragment of
// this page; every data-live-every seconds, while the page is visible, ask for it with the
// ETag last seen (at first the page's own, data-live-etag). A changed fragment replaces each element of the page with the same id;
// ticked checkboxes stay ticked. An element marked data-live-done ends the polling (a
// finished mailing), and so does a refused or vanished fragment (signed out, deleted).
(function () {
  function keepTicked(from, to) {
    from.querySelectorAll("input[type=checkbox]:checked").forEach(function (box) {
      to.querySelectorAll("input[type=checkbox]").forEach(function (other) {
        if (other.name === box.name && other.value === box.value) {
          other.checked = true;
        }
      });
    });
  }

  function swap(html) {
    var incoming = document.createElement("template");
    incoming.innerHTML = html;
    var done = false;
    incoming.content.querySelectorAll("[id]").forEach(function (part) {
      var current = document.getElementById(part.id);
      if (!current || part.parentElement && part.parentElement.closest("[id]")) {
        return;
      }
      keepTicked(current, part);
      current.replaceWith(part);
      done = done || part.hasAttribute("data-live-done");
    });
    return done;
  }

  function follow(source) {
    var url = source.getAttribute("data-live-url");
    var every = 1000 * Number(source.getAttribute("data-live-every") || "5");
    var etag = source.getAttribute("data-live-etag");
    var timer = null;
    var stopped = false;

    function next(delay) {
      window.clearTimeout(timer);
      if (!stopped) {
        timer = window.setTimeout(poll, delay);
      }
    }

    function poll() {
      if (document.visibilityState === "hidden") {
        return;
      }
      var headers = etag ? { "If-None-Match": etag } : {};
      fetch(url, { headers: headers, cache: "no-store", credentials: "same-origin" })
        .then(function (response) {
          if (response.status === 200) {
            etag = response.headers.get("ETag");
            return response.text().then(function (html) {
              stopped = swap(html);
            });
          }
          if (response.status !== 304) {
            stopped = response.status >= 400 && response.status < 500;
          }
        })
        .catch(function () {})
        .then(function () {
          next(every);
        });
    }

    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") {
        next(0);
      }
    });
    next(every);
  }

  document.querySelectorAll("[data-live-url]").forEach(follow);
})();
