// Shows every <time data-local-time> in the reader's own time zone (the server
// renders UTC, which stays as the tooltip and is what shows without JavaScript).
(function () {
  "use strict";
  function localise() {
    var options = {year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short"};
    document.querySelectorAll("time[data-local-time]").forEach(function (node) {
      var moment = new Date(node.getAttribute("datetime"));
      if (!isNaN(moment.getTime())) {
        node.textContent = moment.toLocaleString(undefined, options);
      }
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", localise);
  } else {
    localise();
  }
})();
