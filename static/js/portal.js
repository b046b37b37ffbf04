/* Page behaviour that would otherwise be inline (the Content-Security-Policy allows no inline script or style):
 *   <select data-autosubmit>        submits its form when changed;
 *   <form data-confirm="…">         asks before submitting;
 *   <div data-progress="42">        gets width 42% (progress bars, also in content htmx swaps in). */
(function () {
  "use strict";

  document.addEventListener("change", function (event) {
    var select = event.target;
    if (select.matches && select.matches("select[data-autosubmit]") && select.form) select.form.submit();
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });

  function showProgress(root) {
    var bars = Array.prototype.slice.call(root.querySelectorAll("[data-progress]"));
    if (root.hasAttribute && root.hasAttribute("data-progress")) bars.push(root);
    bars.forEach(function (bar) { bar.style.width = Number(bar.getAttribute("data-progress")) + "%"; });
  }

  if (window.htmx) {
    window.htmx.onLoad(showProgress);  // the page itself, then every swapped-in fragment
  } else {
    showProgress(document);
  }
})();
